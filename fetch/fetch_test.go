package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/fetch"
	"github.com/picloud/picloud/sandbox/sdk"
)

// These tests never send a packet outside 127.0.0.0/8, even with a
// broken guard: names resolve through a stub, and every dial goes
// through a hook that records it and refuses it, except a dial to an
// address the test maps to its own local server.

// stubResolver answers from a map and refuses every other name.
type stubResolver map[string][]string

func (r stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, fmt.Errorf("stub resolver: no such host %q", host)
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

// dialHook records every dial. A dial to an address in local (as
// "ip:port") is made to the local address it maps to; every other dial
// is refused.
type dialHook struct {
	mu    sync.Mutex
	dials []string
	local map[string]string
}

func (h *dialHook) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	h.mu.Lock()
	h.dials = append(h.dials, addr)
	to, ok := h.local[addr]
	h.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("test dial hook: refusing to dial %s", addr)
	}
	if ap := netip.MustParseAddrPort(to); !ap.Addr().IsLoopback() {
		panic("test dial hook mapped to a non-loopback address")
	}
	return (&net.Dialer{}).DialContext(ctx, network, to)
}

func (h *dialHook) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.dials...)
}

// publicIP is what the stub makes "public.test" resolve to; the dial hook
// takes a dial there to the test's local server. Nothing is ever sent to
// it.
const publicIP = "93.184.216.34"

type harness struct {
	client *fetch.Client
	hook   *dialHook
	local  string // the local server's ip:port
	port   string
}

func newHarness(t *testing.T, allowPrivate bool, handler http.Handler, tweak ...func(*fetch.Options)) *harness {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	local := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(local)
	hook := &dialHook{local: map[string]string{
		net.JoinHostPort(publicIP, port): local,
		local:                            local, // reached only when the guard lets loopback through
	}}
	opts := fetch.Options{
		AllowPrivate: allowPrivate,
		Timeout:      5 * time.Second,
		Resolver: stubResolver{
			"public.test":    {publicIP},
			"localhost":      {"127.0.0.1", "::1"},
			"metadata.test":  {"169.254.169.254"},
			"private.test":   {"10.1.2.3"},
			"ula.test":       {"fd12:3456::1"},
			"mixed.test":     {publicIP, "192.168.1.10"},
			"aws-v6.test":    {"fd00:ec2::254"},
			"nat64.test":     {"64:ff9b::7f00:1"},
			"mapped.test":    {"::ffff:10.0.0.1"},
			"linklocal.test": {"fe80::1"},
			"cgnat.test":     {"100.64.0.1"},
		},
		Dial: hook.dial,
	}
	for _, f := range tweak {
		f(&opts)
	}
	c := fetch.New(opts)
	t.Cleanup(c.Close)
	return &harness{client: c, hook: hook, local: local, port: port}
}

func (h *harness) get(t *testing.T, url string, policy fetch.Policy) (*sdk.FetchResponse, fetch.Record, error) {
	t.Helper()
	return h.client.Do(context.Background(), 1, policy, &sdk.FetchRequest{URL: url})
}

func ok(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "hello from the test server") }

// TestRefusedTargets: every spelling of a forbidden target is refused,
// and the refusal comes before any dial.
func TestRefusedTargets(t *testing.T) {
	h := newHarness(t, false, http.HandlerFunc(ok))
	p := h.port
	targets := []string{
		"http://127.0.0.1:" + p + "/",
		"http://localhost:" + p + "/",
		"http://LOCALHOST.:" + p + "/",
		"http://api.localhost:" + p + "/",
		"http://[::1]:" + p + "/",
		"http://127.1:" + p + "/",
		"http://0x7f000001:" + p + "/",
		"http://2130706433:" + p + "/",
		"http://0177.0.0.1:" + p + "/",
		"http://127.0.0.2:" + p + "/",
		"http://[::ffff:127.0.0.1]:" + p + "/",
		"http://[0:0:0:0:0:0:0:1]:" + p + "/",
		"http://0.0.0.0:" + p + "/",
		"http://[::]:" + p + "/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://100.100.100.200/",
		"http://10.0.0.1/",
		"http://172.16.5.4/",
		"http://192.168.0.1/",
		"http://[fe80::1%25eth0]/",
		"http://224.0.0.1/",
		"http://255.255.255.255/",
		"http://metadata.test/",
		"http://private.test/",
		"http://ula.test/",
		"http://mixed.test:" + p + "/",
		"http://aws-v6.test/",
		"http://nat64.test/",
		"http://mapped.test/",
		"http://linklocal.test/",
		"http://cgnat.test/",
		"https://169.254.169.254/",
		"ftp://public.test/",
		"file:///etc/passwd",
		"gopher://public.test/",
		"http://user:pass@public.test:" + p + "/",
		"//public.test/",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			before := len(h.hook.seen())
			_, rec, err := h.get(t, target, fetch.Policy{})
			if !errors.Is(err, fetch.ErrRefused) {
				t.Errorf("fetch = %v, want a refusal", err)
			}
			if dials := h.hook.seen()[before:]; len(dials) > 0 {
				t.Errorf("the guard let dials through: %v", dials)
			}
			if rec.Error == "" {
				t.Error("the record does not say it failed")
			}
		})
	}
}

// TestRedirectToForbiddenTarget: a public server that redirects to a
// forbidden target gets its redirect refused; only the first dial is
// made.
func TestRedirectToForbiddenTarget(t *testing.T) {
	var h *harness
	mux := http.NewServeMux()
	mux.HandleFunc("/to-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:"+h.port+"/secret", http.StatusFound)
	})
	mux.HandleFunc("/to-private-name", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://private.test/", http.StatusFound)
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/secret", func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the secret endpoint was reached")
	})
	h = newHarness(t, false, mux)
	for _, path := range []string{"/to-loopback", "/to-private-name", "/to-metadata", "/to-file"} {
		t.Run(path, func(t *testing.T) {
			before := len(h.hook.seen())
			_, _, err := h.get(t, "http://public.test:"+h.port+path, fetch.Policy{})
			if !errors.Is(err, fetch.ErrRefused) {
				t.Errorf("fetch = %v, want the redirect refused", err)
			}
			for _, d := range h.hook.seen()[before:] {
				if d != net.JoinHostPort(publicIP, h.port) {
					t.Errorf("dialed %s", d)
				}
			}
		})
	}
}

// TestLocalServerNeedsAllowPrivate: the local test server is reachable
// when private addresses are allowed, and only then.
func TestLocalServerNeedsAllowPrivate(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow_private=%v", allow), func(t *testing.T) {
			h := newHarness(t, allow, http.HandlerFunc(ok))
			resp, _, err := h.get(t, "http://"+h.local+"/", fetch.Policy{})
			if !allow {
				if !errors.Is(err, fetch.ErrRefused) || len(h.hook.seen()) > 0 {
					t.Errorf("fetch = %v after dials %v, want a refusal before any dial", err, h.hook.seen())
				}
				return
			}
			if err != nil || resp.Status != 200 || string(resp.Body) != "hello from the test server" {
				t.Fatalf("fetch = %+v, %v", resp, err)
			}
			// Metadata stays out of reach even so.
			if _, _, err := h.get(t, "http://169.254.169.254/", fetch.Policy{}); !errors.Is(err, fetch.ErrRefused) {
				t.Errorf("metadata with private allowed: %v, want a refusal", err)
			}
		})
	}
}

func TestFetchAndRecord(t *testing.T) {
	var gotHeader, gotBody string
	h := newHarness(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader = r.Header.Get("X-Token")
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		gotBody = string(b[:n])
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(201)
		fmt.Fprint(w, "made")
	}))
	resp, rec, err := h.client.Do(context.Background(), 1, fetch.Policy{}, &sdk.FetchRequest{
		Method: "post", URL: "http://public.test:" + h.port + "/items?token=s3cr3t#frag",
		Headers: map[string]string{"X-Token": "t"}, Body: []byte("payload"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 || string(resp.Body) != "made" || resp.Header("x-multi") != "a, b" {
		t.Errorf("response %d %q, X-Multi %q", resp.Status, resp.Body, resp.Header("x-multi"))
	}
	if gotHeader != "t" || gotBody != "payload" {
		t.Errorf("server saw header %q body %q", gotHeader, gotBody)
	}
	if rec.Method != "POST" || rec.Status != 201 || rec.Error != "" ||
		rec.URL != "http://public.test:"+h.port+"/items" {
		t.Errorf("record %+v, want POST, 201 and the URL without query", rec)
	}
}

func TestPolicy(t *testing.T) {
	h := newHarness(t, false, http.HandlerFunc(ok))
	url := "http://public.test:" + h.port + "/"
	cases := []struct {
		name    string
		policy  fetch.Policy
		allowed bool
	}{
		{"no lists", fetch.Policy{}, true},
		{"allowed by name", fetch.Policy{Allow: []string{"public.test"}}, true},
		{"allowed by wildcard", fetch.Policy{Allow: []string{"*.test"}}, true},
		{"not on the allow list", fetch.Policy{Allow: []string{"api.example.com"}}, false},
		{"denied", fetch.Policy{Deny: []string{"PUBLIC.TEST."}}, false},
		{"deny beats allow", fetch.Policy{Allow: []string{"*"}, Deny: []string{"*.test"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := h.get(t, url, c.policy)
			if c.allowed != (err == nil) {
				t.Errorf("fetch = %v, want allowed %v", err, c.allowed)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { w.Write(make([]byte, 2048)) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	h := newHarness(t, false, mux, func(o *fetch.Options) { o.MaxResponseBody = 1024; o.MaxConcurrency = 1 })
	defer close(release)
	base := "http://public.test:" + h.port
	if _, _, err := h.get(t, base+"/big", fetch.Policy{}); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("big body: %v, want over the limit", err)
	}
	start := time.Now()
	_, _, err := h.client.Do(context.Background(), 1, fetch.Policy{}, &sdk.FetchRequest{URL: base + "/slow", Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no answer within") || time.Since(start) > 3*time.Second {
		t.Errorf("slow fetch: %v after %s, want a timeout", err, time.Since(start))
	}
	// One slot per app: a second fetch of app 2 waits until its context ends.
	go h.client.Do(context.Background(), 2, fetch.Policy{}, &sdk.FetchRequest{URL: base + "/slow"})
	waitUntil(t, func() bool { return len(h.hook.seen()) >= 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := h.client.Do(ctx, 2, fetch.Policy{}, &sdk.FetchRequest{URL: base + "/big"}); err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Errorf("second fetch of a busy app: %v, want a wait that ends", err)
	}
	if _, _, err := h.client.Do(context.Background(), 3, fetch.Policy{}, &sdk.FetchRequest{URL: base + "/big"}); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("another app is not held up by app 2: %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
