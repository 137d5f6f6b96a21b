package admin_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestKV(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg, func(o *admin.Options) { o.KVQuota = models.KVQuota{MaxKeys: 4, MaxBytes: 1 << 20} })
		for _, slug := range []string{"shop", "blog"} {
			s.run(t, scenario{name: "app " + slug, method: "POST", url: "/apps", body: map[string]string{"slug": slug}, status: 201})
		}
		put := func(name, key string, body any, status int, want ...string) scenario {
			return scenario{name: name, method: "PUT", url: "/apps/shop/kv/" + key, body: body, status: status, want: want}
		}
		s.runAll(t, []scenario{
			put("text", "user:1", map[string]any{"value": "alice"}, 200, `"key":"user:1"`, `"size":11`, `"expires_at":null`),
			put("binary", "blob", map[string]any{"value_base64": base64.StdEncoding.EncodeToString([]byte{0xff, 0})}, 200),
			put("with ttl", "session/abc", map[string]any{"value": "s", "ttl_seconds": 60}, 200, `"expires_at":"2030-06-01T12:01:00Z"`),
			put("both values", "x", map[string]any{"value": "a", "value_base64": "YQ=="}, 400, "not both"),
			put("no value", "x", map[string]any{}, 400, "is required"),
			put("bad base64", "x", map[string]any{"value_base64": "%%"}, 400, "base64"),
			put("negative ttl", "x", map[string]any{"value": "a", "ttl_seconds": -1}, 400, `"field":"ttl_seconds"`),
			put("key too long", strings.Repeat("k", 513), map[string]any{"value": "a"}, 400, "over the limit of 512"),
			put("fourth key", "x", map[string]any{"value": "a"}, 200),
			{name: "missing app", method: "PUT", url: "/apps/nope/kv/x", body: map[string]any{"value": "a"}, status: 404},
			{name: "get text", method: "GET", url: "/apps/shop/kv/user:1", status: 200, want: []string{`"value":"alice"`, `"value_base64":"YWxpY2U="`}},
			{name: "get binary", method: "GET", url: "/apps/shop/kv/blob", status: 200, want: []string{`"value":null`, `"value_base64":"/wA="`}},
			{name: "get with slash", method: "GET", url: "/apps/shop/kv/session/abc", status: 200, want: []string{`"value":"s"`}},
			{name: "other app", method: "GET", url: "/apps/blog/kv/user:1", status: 404},
			{name: "list by prefix", method: "GET", url: "/apps/shop/kv?prefix=user:", status: 200,
				want: []string{`"key":"user:1"`, `"usage":{"keys":4`, `"quota":{"max_keys":4`}, notWant: []string{"blob"}},
			put("fifth key over the quota", "y", map[string]any{"value": "a"}, 422, "kv_quota_exceeded", "limit is 4"),
			{name: "delete", method: "DELETE", url: "/apps/shop/kv/user:1", status: 204},
			{name: "deleted", method: "GET", url: "/apps/shop/kv/user:1", status: 404},
			{name: "delete again", method: "DELETE", url: "/apps/shop/kv/user:1", status: 404},
			{name: "bad limit", method: "GET", url: "/apps/shop/kv?limit=0", status: 400, want: []string{`"field":"limit"`}},
			{name: "bad cursor", method: "GET", url: "/apps/shop/kv?cursor=!!", status: 400},
			{name: "no token", method: "GET", url: "/apps/shop/kv", anon: true, status: 401},
		})
		// The key with a TTL is gone once its time has passed.
		s.clock.Advance(61 * time.Second)
		s.run(t, scenario{name: "expired", method: "GET", url: "/apps/shop/kv/session/abc", status: 404})
		// Paging: the cursor leads to the rest.
		body := s.run(t, scenario{name: "page 1", method: "GET", url: "/apps/shop/kv?limit=1", status: 200})
		cursor := between(string(body), `"cursor":"`, `"`)
		if cursor == "" {
			t.Fatalf("no cursor in %s", body)
		}
		s.run(t, scenario{name: "page 2", method: "GET", url: "/apps/shop/kv?limit=5&cursor=" + cursor, status: 200, want: []string{`"cursor":""`}})
		// An app's own quota, set in its settings, replaces the default.
		s.run(t, scenario{name: "raise quota", method: "PATCH", url: "/apps/shop", body: map[string]any{"settings": map[string]any{"kv_max_keys": 10}}, status: 200, want: []string{`"kv_max_keys":10`}})
		s.run(t, put("under the app's quota", "y", map[string]any{"value": "a"}, 200))
		if _, ok, _ := s.db.KVGet(context.Background(), 1, "y", time.Now()); !ok {
			t.Error("the key is not stored")
		}
	})
}

// TestKVEscapedKeys: a key travels percent-encoded in the path, as URLs
// carry a space, '?', '#' or '%', and is stored as the script names it.
func TestKVEscapedKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		s.runAll(t, []scenario{
			{name: "put escaped", method: "PUT", url: "/apps/shop/kv/a%20b%3Fc%23d%25e", body: map[string]any{"value": "v"}, status: 200, want: []string{`"key":"a b?c#d%e"`}},
			{name: "get escaped", method: "GET", url: "/apps/shop/kv/a%20b%3Fc%23d%25e", status: 200, want: []string{`"key":"a b?c#d%e"`, `"value":"v"`}},
			{name: "listed unescaped", method: "GET", url: "/apps/shop/kv", status: 200, want: []string{`"key":"a b?c#d%e"`}, notWant: []string{"%20"}},
			{name: "escaped slash", method: "PUT", url: "/apps/shop/kv/blob%2Fraw", body: map[string]any{"value": "x"}, status: 200, want: []string{`"key":"blob/raw"`}},
			{name: "same key, plain slash", method: "GET", url: "/apps/shop/kv/blob/raw", status: 200, want: []string{`"value":"x"`}},
			{name: "delete escaped", method: "DELETE", url: "/apps/shop/kv/a%20b%3Fc%23d%25e", status: 204},
			{name: "deleted", method: "GET", url: "/apps/shop/kv/a%20b%3Fc%23d%25e", status: 404, want: []string{`a b?c#d%e`}},
		})
		if _, ok, _ := s.db.KVGet(context.Background(), 1, "blob/raw", time.Now()); !ok {
			t.Error(`"blob/raw" is not stored under its unescaped name`)
		}
	})
}

// between returns what lies between the first from and the next to in s.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func TestFetchListsInSettings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201, want: []string{`"fetch_allow":null`}})
		patch := func(name string, settings map[string]any, status int, want ...string) scenario {
			return scenario{name: name, method: "PATCH", url: "/apps/shop", body: map[string]any{"settings": settings}, status: status, want: want}
		}
		s.runAll(t, []scenario{
			patch("allow list", map[string]any{"fetch_allow": []string{"API.Example.com.", "*.stripe.com"}}, 200, `"fetch_allow":["api.example.com","*.stripe.com"]`),
			patch("deny list", map[string]any{"fetch_deny": []string{"*", "10.0.0.1"}}, 200, `"fetch_deny":["*","10.0.0.1"]`),
			patch("bad pattern", map[string]any{"fetch_allow": []string{"http://x"}}, 400, `"field":"settings.fetch_allow"`),
			patch("empty list", map[string]any{"fetch_allow": []string{}}, 400, "null for no list"),
			patch("not a list", map[string]any{"fetch_deny": "x"}, 400, "list of host patterns"),
			patch("clear", map[string]any{"fetch_allow": nil}, 200, `"fetch_allow":null`, `"fetch_deny":["*","10.0.0.1"]`),
		})
	})
}
