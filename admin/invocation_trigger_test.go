package admin_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestInvocationsByTrigger: trigger= keeps the invocations started one
// way (a script's last scheduled runs), in the list and the stream.
func TestInvocationsByTrigger(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		ctx := context.Background()
		insert := func(id, trigger string) {
			t.Helper()
			inv := models.Invocation{RequestID: id, AppID: 1, ScriptID: 7, Method: "GET", Path: "/" + id, Status: 200, Trigger: trigger}
			if err := s.db.InsertInvocations(ctx, []models.Invocation{inv}); err != nil {
				t.Fatal(err)
			}
		}
		insert("h1", "http")
		insert("s1", "schedule")
		insert("i1", "invoke")
		insert("s2", "schedule")

		s.runAll(t, []scenario{
			{name: "all", method: "GET", url: "/invocations", status: 200,
				want: []string{`"request_id":"h1"`, `"request_id":"s1"`, `"request_id":"i1"`, `"request_id":"s2"`}},
			{name: "schedule", method: "GET", url: "/invocations?trigger=schedule&script=7", status: 200,
				want: []string{`"request_id":"s1"`, `"request_id":"s2"`, `"trigger":"schedule"`}, notWant: []string{`"request_id":"h1"`, `"request_id":"i1"`}},
			{name: "schedule, last one", method: "GET", url: "/invocations?trigger=schedule&limit=1", status: 200,
				want: []string{`"request_id":"s2"`}, notWant: []string{`"request_id":"s1"`}},
			{name: "invoke", method: "GET", url: "/invocations?trigger=invoke", status: 200,
				want: []string{`"request_id":"i1"`}, notWant: []string{`"request_id":"s1"`, `"request_id":"h1"`}},
			{name: "http", method: "GET", url: "/invocations?trigger=http", status: 200,
				want: []string{`"request_id":"h1"`}, notWant: []string{`"request_id":"s1"`, `"request_id":"i1"`}},
			{name: "unknown trigger", method: "GET", url: "/invocations?trigger=cron", status: 400, want: []string{`"field":"trigger"`, `\"cron\"`}},
			{name: "bad trigger in the stream", method: "GET", url: "/invocations/stream?trigger=HTTP", status: 400, want: []string{`"field":"trigger"`}},
		})

		sched, _ := s.openStream(t, "trigger=schedule", nil)
		insert("h2", "http")
		insert("s3", "schedule")
		if ev := next(t, sched); ev.inv.RequestID != "s3" || ev.inv.Trigger != "schedule" {
			t.Fatalf("stream of scheduled runs sent %+v, want only s3", ev.inv)
		}
	})
}
