package admin_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/secrets"
)

func withSecrets(t *testing.T) func(*admin.Options) {
	return func(o *admin.Options) {
		ring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, secrets.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		o.Secrets = secrets.NewStore(o.DB, ring)
	}
}

// TestSecretsAreWriteOnly: a secret goes in and never comes out of the
// API or the log, whatever is asked.
func TestSecretsAreWriteOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg, withSecrets(t))
		const value = "sk_live_do_not_show_me"
		for _, slug := range []string{"shop", "blog"} {
			s.run(t, scenario{name: "app " + slug, method: "POST", url: "/apps", body: map[string]string{"slug": slug}, status: 201})
		}
		var bodies [][]byte
		for _, sc := range []scenario{
			{name: "create", method: "PUT", url: "/apps/shop/secrets/STRIPE_KEY", body: map[string]string{"value": value}, status: 201,
				want: []string{`"name":"STRIPE_KEY"`, `"fingerprint":"`}},
			{name: "replace", method: "PUT", url: "/apps/shop/secrets/STRIPE_KEY", body: map[string]string{"value": value + "2"}, status: 200},
			{name: "list", method: "GET", url: "/apps/shop/secrets", status: 200, want: []string{`"name":"STRIPE_KEY"`, `"updated_at"`}},
			{name: "other app", method: "GET", url: "/apps/blog/secrets", status: 200, want: []string{`"items":[]`}},
			{name: "no GET of one", method: "GET", url: "/apps/shop/secrets/STRIPE_KEY", status: 405},
			{name: "bad name", method: "PUT", url: "/apps/shop/secrets/1BAD", body: map[string]string{"value": value}, status: 400, want: []string{`"field":"name"`}},
			{name: "unknown field echoes nothing", method: "PUT", url: "/apps/shop/secrets/X", body: `{"value":"` + value + `","v":1}`, status: 400},
			{name: "malformed", method: "PUT", url: "/apps/shop/secrets/X", body: `{"value":"` + value, status: 400},
			{name: "too large", method: "PUT", url: "/apps/shop/secrets/X", body: map[string]string{"value": strings.Repeat("v", 64<<10+1)}, status: 400},
			{name: "no token", method: "GET", url: "/apps/shop/secrets", anon: true, status: 401},
			{name: "other app's delete", method: "DELETE", url: "/apps/blog/secrets/STRIPE_KEY", status: 404},
			{name: "config", method: "GET", url: "/config", status: 200},
		} {
			bodies = append(bodies, s.run(t, sc))
		}
		for i, b := range bodies {
			if bytes.Contains(b, []byte(value)) {
				t.Errorf("answer %d holds the secret: %s", i, b)
			}
		}
		if strings.Contains(s.logs.String(), value) {
			t.Errorf("the log holds the secret:\n%s", s.logs.String())
		}
		s.run(t, scenario{name: "delete", method: "DELETE", url: "/apps/shop/secrets/STRIPE_KEY", status: 204})
		s.run(t, scenario{name: "gone", method: "GET", url: "/apps/shop/secrets", status: 200, want: []string{`"items":[]`}})
	})
}
