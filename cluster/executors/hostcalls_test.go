package executors

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/sandbox/sdk"
)

// counterHost is the Host of one call on the calling node: a counter,
// a secret, an Invoke that echoes, and a Fetch that waits for its ctx.
type counterHost struct {
	mu       sync.Mutex
	n        int64
	fetching chan struct{} // receives when a Fetch starts
}

func (h *counterHost) KVGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (h *counterHost) KVSet(context.Context, string, []byte, time.Duration) error {
	return errors.New("picloud.KV.Set: quota exceeded")
}
func (h *counterHost) KVDelete(context.Context, string) error { return nil }
func (h *counterHost) KVList(context.Context, string, string, int) ([]string, string, error) {
	return nil, "", nil
}
func (h *counterHost) KVIncrement(_ context.Context, _ string, d int64) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n += d
	return h.n, nil
}
func (h *counterHost) Secret(_ context.Context, name string) (string, bool, error) {
	return "value of " + name, true, nil
}
func (h *counterHost) Fetch(ctx context.Context, _ *sdk.FetchRequest) (*sdk.FetchResponse, error) {
	h.fetching <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}
func (h *counterHost) Invoke(_ context.Context, script string, req *sdk.Request) (*sdk.Response, error) {
	return &sdk.Response{Status: 200, Body: []byte(script + " " + req.Method + " " + req.Path + " " + req.Trigger)}, nil
}

// TestHostCallsReachTheCallersHost: the Host a remote call's script sees
// (callerHost) reaches the caller's Host while the call is registered,
// answers and errors alike; once the call is over it is refused; and a
// host call stops waiting when the script's call ends.
func TestHostCallsReachTheCallersHost(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	hosts := newHostCalls(system)
	caller := &counterHost{fetching: make(chan struct{}, 1)}
	callerCtx, cancelCaller := context.WithCancel(context.Background())
	defer cancelCaller()
	ref, done := hosts.register(callerCtx, caller)
	remote := callerHost(system, ref)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := remote.KVIncrement(ctx, "hits", 1); err != nil {
				t.Errorf("KVIncrement: %v", err)
			}
		})
	}
	wg.Wait()
	if n, err := remote.KVIncrement(ctx, "hits", 0); err != nil || n != 50 {
		t.Fatalf("counter = %d, %v; want 50", n, err)
	}
	if v, ok, err := remote.Secret(ctx, "API_KEY"); err != nil || !ok || v != "value of API_KEY" {
		t.Fatalf("Secret = %q %v %v", v, ok, err)
	}
	if err := remote.KVSet(ctx, "k", []byte("v"), 0); err == nil || err.Error() != "picloud.KV.Set: quota exceeded" {
		t.Fatalf("KVSet = %v, want the caller's error as it is", err)
	}
	res, err := remote.Invoke(ctx, "greeter", &sdk.Request{Method: "GET", Path: "/hi", Trigger: sdk.TriggerHTTP})
	if err != nil || res.Status != 200 || string(res.Body) != "greeter GET /hi http" {
		t.Fatalf("Invoke = %+v, %v", res, err)
	}

	// The script's call ends (its time limit, or the caller's Cancel):
	// a host call in flight stops waiting.
	short, cancelShort := context.WithCancel(ctx)
	fetched := make(chan error, 1)
	go func() {
		_, err := remote.Fetch(short, &sdk.FetchRequest{URL: "http://upstream.test/"})
		fetched <- err
	}()
	<-caller.fetching
	cancelShort()
	if err := <-fetched; err == nil || !strings.Contains(err.Error(), "the call is over") {
		t.Fatalf("Fetch after the call ended = %v", err)
	}

	done()
	if _, err := remote.KVIncrement(ctx, "hits", 1); err == nil || !strings.Contains(err.Error(), "the call is over") {
		t.Fatalf("KVIncrement after the call = %v, want refused", err)
	}
}
