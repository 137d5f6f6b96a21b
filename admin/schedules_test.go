package admin_test

import (
	"fmt"
	"sync/atomic"
	"testing"

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
