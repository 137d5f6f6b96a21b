package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// timedCall is one request of a load test and what it got.
type timedCall struct {
	start, end time.Time
	status     int
	body       string
}

func (c timedCall) overlaps(o timedCall) bool {
	return c.start.Before(o.end) && o.start.Before(c.end)
}

// timedGet sends GET path to host and records when it ran; a transport
// error is status 0.
func (s *server) timedGet(host, path string) timedCall {
	c := timedCall{start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	if err == nil {
		req.Host = host
		var res *http.Response
		if res, err = http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			c.status, c.body = res.StatusCode, string(b)
		}
	}
	if err != nil {
		c.body = err.Error()
	}
	c.end = time.Now()
	return c
}

// TestCrashLoopSparesSiblings runs a script that overflows its stack at
// a steady rate next to a healthy script of the same app, which is
// called all the while. The crashes are blamed on the crashing script
// alone: it is parked after at most 3 of them, and a call of the healthy
// script fails only if it overlapped a crashing call (it may have been in
// flight in the dying worker); every other one succeeds, also while the
// worker restarts.
func TestCrashLoopSparesSiblings(t *testing.T) {
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
	s.newApp(t, "loop")
	s.addScript(t, "loop", "crash", deepRecursion, "/crash")
	s.addScript(t, "loop", "healthy", `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "fine")
}
`, "/healthy")
	const host = "loop.localhost"
	expect(t, "healthy script", s.do("GET", "/healthy", nil, "Host", host), 200, "fine")

	var (
		mu       sync.Mutex
		siblings []timedCall
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := s.timedGet(host, "/healthy")
				mu.Lock()
				siblings = append(siblings, c)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}

	// Five crashing calls a second, until well after it is parked.
	var crashes []timedCall
	tick := time.NewTicker(200 * time.Millisecond)
	parkedAt := -1
	for i := 0; i < 40 && (parkedAt < 0 || i < parkedAt+5); i++ {
		<-tick.C
		c := s.timedGet(host, "/crash")
		crashes = append(crashes, c)
		if parkedAt < 0 && c.status == 503 {
			parkedAt = i
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()

	var crashed []timedCall
	for i, c := range crashes {
		switch {
		case parkedAt >= 0 && i >= parkedAt:
			if c.status != 503 || !strings.Contains(c.body, `"code":"script_parked"`) {
				t.Errorf("crashing call %d, after it was parked: %d %s", i+1, c.status, c.body)
			}
		case c.status == 502 && strings.Contains(c.body, `"code":"worker_crashed"`):
			crashed = append(crashed, c)
		default:
			t.Errorf("crashing call %d: %d %s, want 502 worker_crashed", i+1, c.status, c.body)
		}
	}
	if parkedAt < 0 {
		t.Fatalf("the crashing script was not parked after %d calls", len(crashes))
	}
	if len(crashed) > 3 {
		t.Errorf("the crashing script crashed its worker %d times before it was parked, want at most 3", len(crashed))
	}

	failed, wrong := 0, 0
	for _, c := range siblings {
		if c.status == 200 && c.body == "fine" {
			continue
		}
		failed++
		inFlight := false
		for _, cr := range crashed {
			inFlight = inFlight || c.overlaps(cr)
		}
		if inFlight && c.status == 502 {
			continue
		}
		if wrong++; wrong <= 5 {
			t.Errorf("healthy call at +%s failed though no crash was in flight: %d %s",
				c.start.Sub(crashes[0].start).Round(time.Millisecond), c.status, c.body)
		}
	}
	if wrong > 0 {
		t.Errorf("%d healthy calls failed though no crash was in flight", wrong)
	}
	t.Logf("%d crashes before parking; %d healthy calls, %d failed, all of them while a crash was in flight: %v",
		len(crashed), len(siblings), failed, wrong == 0)
	if len(siblings) < 50 {
		t.Errorf("only %d healthy calls were made: the test did not load the app", len(siblings))
	}
	expect(t, "healthy script afterwards", s.do("GET", "/healthy", nil, "Host", host), 200, "fine")
}
