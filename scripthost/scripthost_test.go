package scripthost_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/fetch"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/scripthost"
	"github.com/picloud/picloud/secrets"
)

type refusingNet struct {
	mu    sync.Mutex
	dials []string
}

func (n *refusingNet) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host == "api.example.com" {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	return nil, fmt.Errorf("no such host %q", host)
}

func (n *refusingNet) dial(_ context.Context, _, addr string) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dials = append(n.dials, addr)
	return nil, errors.New("test: every dial is refused")
}

type harness struct {
	db       *models.DB
	provider *scripthost.Provider
	shop     *models.App
	blog     *models.App
	net      *refusingNet
	invoked  []deploy.Call
}

func newHarness(t *testing.T, tg testdb.Target) *harness {
	t.Helper()
	db := testdb.Open(t, tg)
	ctx := context.Background()
	h := &harness{db: db, net: &refusingNet{}}
	for _, a := range []**models.App{&h.shop, &h.blog} {
		*a = &models.App{Slug: fmt.Sprintf("app%p", a), Name: "x"}
		if err := db.CreateApp(ctx, *a); err != nil {
			t.Fatal(err)
		}
	}
	ring, _ := secrets.NewKeyring(bytes.Repeat([]byte{3}, secrets.KeySize))
	store := secrets.NewStore(db, ring)
	if _, _, err := store.Put(ctx, h.shop.ID, "TOKEN", "tok-123456"); err != nil {
		t.Fatal(err)
	}
	h.provider = scripthost.New(scripthost.Options{
		DB: db, Secrets: store, KVQuota: models.KVQuota{MaxKeys: 2},
		Fetch: fetch.New(fetch.Options{Resolver: h.net, Dial: h.net.dial}),
		Invoke: func(_ context.Context, call deploy.Call) actors.Result {
			h.invoked = append(h.invoked, call)
			return actors.Result{Status: 202, Body: []byte("ok"), Headers: []actors.Header{
				{Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}, {Name: "X-A", Value: "1"}}}
		},
	})
	return h
}

func (h *harness) open(app *models.App, depth int) actors.CallHost {
	return h.provider.Open(actors.CallScope{AppID: app.ID, App: app.Slug, ScriptID: 1, Script: "s", RequestID: "req-9", Trigger: "http", Depth: depth})
}

func TestKVIsScopedToTheApp(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		h := newHarness(t, tg)
		ctx := context.Background()
		shop, blog := h.open(h.shop, 0), h.open(h.blog, 0)
		if err := shop.KVSet(ctx, "k", []byte("shop's"), 0); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := blog.KVGet(ctx, "k"); ok {
			t.Error("another app's host reads the key")
		}
		if v, ok, _ := shop.KVGet(ctx, "k"); !ok || string(v) != "shop's" {
			t.Errorf("KVGet = %q, %v", v, ok)
		}
		shop.KVSet(ctx, "k2", nil, 0)
		err := shop.KVSet(ctx, "k3", nil, 0)
		if err == nil || !strings.Contains(err.Error(), "picloud.KV.Set: kv quota exceeded") {
			t.Errorf("over the quota: %v", err)
		}
		if keys, _, err := shop.KVList(ctx, "", "", 0); err != nil || strings.Join(keys, ",") != "k,k2" {
			t.Errorf("KVList = %v, %v", keys, err)
		}
	})
}

func TestSecretsAreMasked(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		h := newHarness(t, tg)
		ctx := context.Background()
		host := h.open(h.shop, 0)
		if v, ok, err := host.Secret(ctx, "TOKEN"); err != nil || !ok || v != "tok-123456" {
			t.Fatalf("Secret = %q, %v, %v", v, ok, err)
		}
		if _, ok, _ := h.open(h.blog, 0).Secret(ctx, "TOKEN"); ok {
			t.Error("another app reads the secret")
		}
		if got := host.Mask("key=tok-123456; again tok-123456"); got != "key=[secret TOKEN]; again [secret TOKEN]" {
			t.Errorf("Mask = %q", got)
		}
		if got := h.open(h.shop, 0).Mask("tok-123456"); got != "tok-123456" {
			t.Errorf("a call that read no secret masked %q", got)
		}
	})
}

func TestFetchFollowsTheAppsLists(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		h := newHarness(t, tg)
		ctx := context.Background()
		deny := models.NewHostList([]string{"*.example.com"})
		if _, err := h.db.UpdateApp(ctx, h.shop.ID, models.AppChange{Settings: &models.AppSettings{FetchDeny: deny}}); err != nil {
			t.Fatal(err)
		}
		host := h.open(h.shop, 0)
		_, err := host.Fetch(ctx, &sdk.FetchRequest{URL: "https://api.example.com/v1?key=x"})
		if err == nil || !strings.Contains(err.Error(), "deny list") || len(h.net.dials) != 0 {
			t.Errorf("fetch = %v after dials %v, want the deny list to refuse it", err, h.net.dials)
		}
		// The other app has no list: its fetch gets as far as the (refusing) dial.
		other := h.open(h.blog, 0)
		if _, err := other.Fetch(ctx, &sdk.FetchRequest{URL: "https://api.example.com/v1?key=x"}); err == nil || len(h.net.dials) != 1 {
			t.Errorf("fetch = %v after dials %v, want one dial", err, h.net.dials)
		}
		recs := host.Fetches()
		if len(recs) != 1 || recs[0].URL != "https://api.example.com/v1" || recs[0].Error == "" {
			t.Errorf("records %+v", recs)
		}
	})
}

func TestInvoke(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t))
	ctx := context.Background()
	resp, err := h.open(h.shop, 0).Invoke(ctx, "other", &sdk.Request{Method: "post", Path: "x", Headers: map[string]string{"x-b": "2"}})
	if err != nil || resp.Status != 202 || resp.Headers["X-A"] != "1" {
		t.Fatalf("Invoke = %+v, %v", resp, err)
	}
	// Every value of a repeated header reaches the caller.
	if resp.Headers["Set-Cookie"] != "a=1" || len(resp.Added) != 1 || resp.Added[0] != (sdk.Header{Name: "Set-Cookie", Value: "b=2"}) {
		t.Errorf("Invoke's headers %v, added %v, want cookies a=1 then b=2", resp.Headers, resp.Added)
	}
	call := h.invoked[0]
	r := call.Request
	if call.AppID != h.shop.ID || call.Script != "other" || r.Method != "POST" || r.Path != "/x" ||
		r.Trigger != "invoke" || r.Depth != 1 || r.RequestID != "req-9.1" || r.Headers[0].Name != "X-B" {
		t.Errorf("call %+v, request %+v", call, r)
	}
	_, err = h.open(h.shop, scripthost.DefaultMaxInvokeDepth).Invoke(ctx, "other", nil)
	if err == nil || !strings.Contains(err.Error(), "call depth limit") || len(h.invoked) != 1 {
		t.Errorf("Invoke at the depth limit = %v", err)
	}
}
