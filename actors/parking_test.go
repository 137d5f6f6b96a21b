package actors_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
)

// TestParkingIsReportedAndFollowed: a router that parks a version on its
// own count reports it once; a router sent that parking in a snapshot
// parks the same version until the same time, without running it and
// without reporting it again; a parking of another version, or one that
// is over, parks nothing.
func TestParkingIsReportedAndFollowed(t *testing.T) {
	limits := actors.Limits{MaxConcurrency: 1, CrashLimit: 1, CrashWindow: time.Minute}
	reports := make(chan actors.Parked, 4)
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)),
		actors.WithParkReports(func(p actors.Parked) { reports <- p }))
	t.Cleanup(rt.Shutdown)

	pid := startApp(t, rt, snapshot(limits, []actors.ScriptVersion{script(1, 3, counterScript)}))
	boom := get("/")
	boom.RawQuery = "boom=1"
	for range 2 {
		call(t, rt, pid, boom, 1)
	}
	var p actors.Parked
	select {
	case p = <-reports:
	case <-time.After(waitFor):
		t.Fatal("no parking reported")
	}
	if p.AppID != 1 || p.ScriptID != 1 || p.Version != 3 || p.Node != "" || !strings.Contains(p.Reason, "crashed 2 times") ||
		time.Until(p.Until) <= 0 {
		t.Fatalf("report = %+v", p)
	}

	// Another node's router hears of it in a snapshot.
	other := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)),
		actors.WithParkReports(func(p actors.Parked) { reports <- p }))
	t.Cleanup(other.Shutdown)
	p.Node = "n1"
	snap := snapshot(limits, []actors.ScriptVersion{script(1, 3, counterScript), script(2, 1, counterScript)})
	snap.Parked = []actors.Parked{p,
		{AppID: 1, ScriptID: 2, Version: 7, Until: time.Now().Add(time.Minute), Node: "n1", Reason: "old version"},
	}
	pid2 := startApp(t, other, snap)
	res := call(t, other, pid2, get("/"), 1)
	if res.Status != 503 || res.ErrCode != actors.CodeParked || !strings.Contains(res.ErrMessage, "parked on node n1") {
		t.Fatalf("call of a version parked on n1: %d %s %q", res.Status, res.ErrCode, res.ErrMessage)
	}
	st := status(t, other, pid2)
	if ps, _ := pool(st, 1, 3); !ps.ParkedUntil.Equal(p.Until) || ps.Executors != 0 {
		t.Errorf("pool parked on n1: %+v, want parked until %s with no executor", ps, p.Until)
	}
	if res := call(t, other, pid2, get("/"), 2); res.Status != 200 {
		t.Errorf("a parking of another version parked script 2: %d %q", res.Status, res.ErrMessage)
	}

	// A parking that is over parks nothing.
	snap = snapshot(limits, []actors.ScriptVersion{script(3, 1, counterScript)})
	snap.AppID, snap.Slug = 2, "two"
	snap.Parked = []actors.Parked{{AppID: 2, ScriptID: 3, Version: 1, Until: time.Now().Add(-time.Second), Node: "n1"}}
	pid3 := startApp(t, other, snap)
	if res := call(t, other, pid3, get("/"), 3); res.Status != 200 {
		t.Errorf("a parking that is over parked script 3: %d %q", res.Status, res.ErrMessage)
	}
	select {
	case p := <-reports:
		t.Errorf("reported again: %+v", p)
	default:
	}
}
