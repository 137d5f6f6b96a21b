package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id, event string
	inv       models.Invocation
}

// openStream opens GET /invocations/stream?query and returns its events
// as they come; the stream closes with the test.
func (s *apiServer) openStream(t *testing.T, query string, headers map[string]string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// A stream notices a client that left only when it next writes:
	// end the streams before the server, which waits for them.
	t.Cleanup(s.api.CloseStreams)
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/invocations/stream?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan sseEvent, 100)
	go func() {
		defer close(events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &ev.inv); err != nil {
					t.Errorf("event data %q: %v", line, err)
				}
			}
		}
	}()
	return events, res
}

// next waits for the next invocation event.
func next(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.event == "ready" {
				continue
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5s")
		}
	}
}

func TestInvocationStream(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		ctx := context.Background()
		shop := &models.App{Slug: "shop", Name: "Shop"}
		if err := s.db.CreateApp(ctx, shop); err != nil {
			t.Fatal(err)
		}
		insert := func(appID int64, path string, status int) {
			t.Helper()
			inv := models.Invocation{RequestID: "r" + path, AppID: appID, ScriptID: 7, Method: "GET", Path: path, Status: status, Output: "log of " + path}
			if err := s.db.InsertInvocations(ctx, []models.Invocation{inv}); err != nil {
				t.Fatal(err)
			}
		}
		insert(shop.ID, "/old", 200) // before the stream: not sent

		all, res := s.openStream(t, "", nil)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") || res.StatusCode != 200 {
			t.Fatalf("stream answered %d %q", res.StatusCode, ct)
		}
		// It starts with where it starts: after the invocation stored last.
		if ev := <-all; ev.event != "ready" || ev.id == "" || ev.id == "0" {
			t.Fatalf("first event %+v, want ready with the id of /old", ev)
		}
		errors5xx, _ := s.openStream(t, "app=shop&status=5xx", nil)
		insert(shop.ID+1000, "/elsewhere", 500)
		insert(shop.ID, "/ok", 200)
		insert(shop.ID, "/boom", 503)

		var ids []string
		for _, want := range []string{"/elsewhere", "/ok", "/boom"} {
			ev := next(t, all)
			if ev.event != "invocation" || ev.inv.Path != want || ev.id == "" {
				t.Fatalf("event %+v, want the invocation of %s", ev, want)
			}
			ids = append(ids, ev.id)
		}
		if ev := next(t, errors5xx); ev.inv.Path != "/boom" || ev.inv.Output != "log of /boom" {
			t.Fatalf("filtered stream sent %+v, want only /boom", ev)
		}

		// A client that reconnects with Last-Event-ID gets what it missed.
		resumed, _ := s.openStream(t, "", map[string]string{"Last-Event-ID": ids[0]})
		if ev := next(t, resumed); ev.inv.Path != "/ok" {
			t.Fatalf("resumed stream starts with %+v, want /ok", ev)
		}
		if ev := next(t, resumed); ev.inv.Path != "/boom" {
			t.Fatalf("resumed stream goes on with %+v, want /boom", ev)
		}

		// Stopping the server ends every stream.
		s.api.CloseStreams()
		for range all {
		}
		s.runAll(t, []scenario{
			{name: "stream after close", method: "GET", url: "/invocations/stream", status: 503, want: []string{"too_many_streams"}},
		})
	})
}

func TestInvocationStreamRefuses(t *testing.T) {
	s := startAPI(t, testdb.SQLite(t))
	s.runAll(t, []scenario{
		{name: "anonymous", method: "GET", url: "/invocations/stream", anon: true, status: 401},
		{name: "unknown app", method: "GET", url: "/invocations/stream?app=nope", status: 404},
		{name: "bad status", method: "GET", url: "/invocations/stream?status=6xx", status: 400, want: []string{`"field":"status"`}},
		{name: "bad after", method: "GET", url: "/invocations/stream?after=-1", status: 400, want: []string{`"field":"after"`}},
		{name: "bad Last-Event-ID", method: "GET", url: "/invocations/stream", headers: map[string]string{"Last-Event-ID": "x"}, status: 400},
		{name: "list takes a status class", method: "GET", url: "/invocations?status=4xx", status: 200},
	})
}

// TestInvocationStreamLateRows: a row that becomes visible after rows of
// higher ids (another node's batch committing late) is still sent, once.
func TestInvocationStreamLateRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		ctx := context.Background()
		events, _ := s.openStream(t, "", nil)
		if ev := <-events; ev.event != "ready" {
			t.Fatalf("first event %+v, want ready", ev)
		}
		batch := []models.Invocation{
			{RequestID: "r1", AppID: 1, Method: "GET", Path: "/late", Status: 200},
			{RequestID: "r2", AppID: 1, Method: "GET", Path: "/early", Status: 200},
		}
		// Store both, then hide the first as if its batch had not
		// committed yet, so the stream sees only the second.
		if err := s.db.InsertInvocations(ctx, batch); err != nil {
			t.Fatal(err)
		}
		var late models.Invocation
		if err := s.db.Bun().NewSelect().Model(&late).Where("path = ?", "/late").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Bun().NewDelete().Model((*models.Invocation)(nil)).Where("id = ?", late.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, events); ev.inv.Path != "/early" {
			t.Fatalf("event %+v, want /early", ev)
		}
		if _, err := s.db.Bun().NewInsert().Model(&late).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		ev := next(t, events)
		if ev.inv.Path != "/late" || ev.inv.ID != late.ID {
			t.Fatalf("event %+v, want the late row %d", ev, late.ID)
		}
		if ev.id != strconv.FormatInt(late.ID+1, 10) {
			t.Errorf("late event id %s, want the stream's position %d", ev.id, late.ID+1)
		}
		select {
		case ev := <-events:
			t.Fatalf("sent again: %+v", ev)
		case <-time.After(time.Second): // four polls
		}
	})
}
