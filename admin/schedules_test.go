package admin_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/sandbox"
)

type wakeCounter struct{ n atomic.Int64 }

func (w *wakeCounter) Wake() { w.n.Add(1) }

func TestSchedules(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		wakes := &wakeCounter{}
		s := startAPI(t, tg, func(o *admin.Options) { o.Scheduler = wakes })
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		script := s.create(t, scenario{name: "script", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "tick", "source": sandbox.HelloWorld}, status: 201})
		url := fmt.Sprintf("/scripts/%d/schedules", script)
		post := func(name string, body any, status int, want ...string) scenario {
			return scenario{name: name, method: "POST", url: url, body: body, status: status, want: want}
		}
		id := s.create(t, post("every 5 minutes in Berlin", map[string]string{"cron": "*/5 * * * *", "timezone": "Europe/Berlin"}, 201,
			`"cron":"*/5 * * * *"`, `"timezone":"Europe/Berlin"`, `"next_runs":["`))
		s.create(t, post("seconds, zone defaults to UTC", map[string]string{"cron": "*/10 * * * * *"}, 201, `"timezone":"UTC"`))
		if wakes.n.Load() != 2 {
			t.Errorf("scheduler woken %d times, want 2", wakes.n.Load())
		}
		s.runAll(t, []scenario{
			post("bad cron", map[string]string{"cron": "every day"}, 400, `"field":"cron"`),
			post("bad zone", map[string]string{"cron": "* * * * *", "timezone": "Mars/Olympus"}, 400, `"field":"timezone"`),
			post("no cron", map[string]string{}, 400, "required"),
			post("never", map[string]string{"cron": "0 0 30 2 *"}, 400, "never fires"),
			{name: "list", method: "GET", url: url, status: 200, want: []string{"Europe/Berlin", "*/10 * * * * *", `"next_run_at"`}},
			{name: "missing script", method: "POST", url: "/scripts/999/schedules", body: map[string]string{"cron": "* * * * *"}, status: 404},
			{name: "another script's schedule", method: "DELETE", url: fmt.Sprintf("/scripts/%d/schedules/%d", script+1, id), status: 404},
			{name: "delete", method: "DELETE", url: fmt.Sprintf("%s/%d", url, id), status: 204},
			{name: "deleted", method: "GET", url: url, status: 200, want: []string{"*/10"}, notWant: []string{"Europe/Berlin"}},
		})
	})
}

// TestScheduleUpdate: PATCH changes the cron expression or the time
// zone, keeps what it is not given, computes the next firing afresh and
// wakes the scheduler; bad input is refused at its field and changes
// nothing.
func TestScheduleUpdate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		wakes := &wakeCounter{}
		s := startAPI(t, tg, func(o *admin.Options) { o.Scheduler = wakes })
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		script := s.create(t, scenario{name: "script", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "tick", "source": sandbox.HelloWorld}, status: 201})
		other := s.create(t, scenario{name: "other script", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "tock", "source": sandbox.HelloWorld}, status: 201})
		id := s.create(t, scenario{name: "schedule", method: "POST", url: fmt.Sprintf("/scripts/%d/schedules", script),
			body: map[string]string{"cron": "0 0 1 1 *", "timezone": "Europe/Berlin"}, status: 201})
		url := fmt.Sprintf("/scripts/%d/schedules/%d", script, id)
		patch := func(name string, body any, status int, want ...string) scenario {
			return scenario{name: name, method: "PATCH", url: url, body: body, status: status, want: want}
		}
		// The next firing moves from the next New Year to seconds from now.
		body := s.run(t, patch("cron only", map[string]string{"cron": "*/10 * * * * *"}, 200,
			`"cron":"*/10 * * * * *"`, `"timezone":"Europe/Berlin"`, `"next_runs":["`))
		var got struct {
			NextRunAt time.Time `json:"next_run_at"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if d := time.Until(got.NextRunAt); d > time.Minute {
			t.Errorf("next_run_at %s is %s away, want the next 10-second mark", got.NextRunAt, d)
		}
		s.runAll(t, []scenario{
			patch("zone only", map[string]string{"timezone": "Asia/Tokyo"}, 200, `"cron":"*/10 * * * * *"`, `"timezone":"Asia/Tokyo"`),
			patch("empty zone is UTC", map[string]string{"timezone": ""}, 200, `"timezone":"UTC"`),
			patch("bad cron", map[string]string{"cron": "every day"}, 400, `"field":"cron"`),
			patch("bad zone", map[string]string{"timezone": "Mars/Olympus"}, 400, `"field":"timezone"`),
			patch("never", map[string]string{"cron": "0 0 30 2 *"}, 400, "never fires"),
			patch("unknown field", map[string]string{"crontab": "* * * * *"}, 400),
			{name: "unchanged by the bad ones", method: "GET", url: fmt.Sprintf("/scripts/%d/schedules", script), status: 200,
				want: []string{`"cron":"*/10 * * * * *"`, `"timezone":"UTC"`}},
			{name: "another script's schedule", method: "PATCH", url: fmt.Sprintf("/scripts/%d/schedules/%d", other, id),
				body: map[string]string{"cron": "* * * * *"}, status: 404},
			{name: "missing schedule", method: "PATCH", url: fmt.Sprintf("/scripts/%d/schedules/%d", script, id+100),
				body: map[string]string{"cron": "* * * * *"}, status: 404},
			{name: "no token", method: "PATCH", url: url, body: map[string]string{"cron": "* * * * *"}, anon: true, status: 401},
		})
		if n := wakes.n.Load(); n != 4 { // the create and the three changes
			t.Errorf("scheduler woken %d times, want 4", n)
		}
	})
}
