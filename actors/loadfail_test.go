package actors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
)

// TestLoadFailuresCountAsCrashes: a version that fails to load (stored
// before the upload check refused its kind, or failing only where it
// runs) fails every request; it counts towards its status and is parked
// like a crash loop, instead of staying "ok".
func TestLoadFailuresCountAsCrashes(t *testing.T) {
	rt := newRuntime(t)
	const broken = "package main\n\nimport \"picloud\"\n\nvar first = []string{}[0]\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n"
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1, CrashLimit: 2, CrashWindow: time.Minute},
		[]actors.ScriptVersion{script(1, 1, broken)},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))
	for i := range 3 {
		if res := call(t, rt, pid, get("/"), 0); res.ErrCode != actors.CodeLoadFailed {
			t.Fatalf("call %d: %d %q %s", i+1, res.Status, res.ErrCode, res.ErrMessage)
		}
		if p, _ := pool(status(t, rt, pid), 1, 1); p.Crashes != i+1 {
			t.Errorf("after %d failed loads: %d crashes counted", i+1, p.Crashes)
		}
	}
	res := call(t, rt, pid, get("/"), 0)
	if res.ErrCode != actors.CodeParked || !strings.Contains(res.ErrMessage, "failed to load") {
		t.Fatalf("after 3 failed loads: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
	}
	if p, _ := pool(status(t, rt, pid), 1, 1); p.ParkedUntil.IsZero() || !strings.Contains(p.ParkReason, "index out of range") {
		t.Errorf("status: %+v, want parked with the load error", p)
	}
}
