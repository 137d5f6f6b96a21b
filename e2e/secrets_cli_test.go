package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

// secretReader answers the value of the secret its path names, between
// brackets (so a stray newline shows), or that it is not set.
const secretReader = `package main

import (
	"strings"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	name := strings.TrimPrefix(req.Path, "/")
	v, ok := picloud.Secret(name)
	if !ok {
		return picloud.Text(404, name+" is not set")
	}
	return picloud.Text(200, name+"=["+v+"]")
}
`

// TestSecretsCLI: picloud secrets set takes the value from stdin (a
// trailing newline dropped), --from-file (as is) or --value (with a
// warning); a script reads it on its next call; list and its JSON show
// names and fingerprints, never a value; delete removes it.
func TestSecretsCLI(t *testing.T) {
	s := startSDK2(t, testdb.SQLite(t), "")
	s.deployApp(t, "vault", "reader", secretReader, "/*name")
	c := newClient(t, s.adminOrigin())
	c.must(adminPassword+"\n", "login", "-u", adminName, "--password-stdin")
	read := func(name string) response { return s.do("GET", "/"+name, nil, "Host", "vault.localhost") }

	const value = "sk-live-4f9a8b7c6d"
	if out := c.must(value+"\n", "secrets", "set", "vault", "API_KEY"); !strings.Contains(out, "Set secret API_KEY of app vault") || strings.Contains(out, value) {
		t.Fatalf("secrets set said %q", out)
	}
	expect(t, "the secret from stdin", read("API_KEY"), 200, "API_KEY=["+value+"]")

	file := filepath.Join(t.TempDir(), "cert.pem")
	const multiline = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
	if err := os.WriteFile(file, []byte(multiline), 0o600); err != nil {
		t.Fatal(err)
	}
	c.must("", "secrets", "set", "vault", "TLS_KEY", "--from-file", file)
	expect(t, "the secret from a file, as is", read("TLS_KEY"), 200, "TLS_KEY=["+multiline+"]")

	if _, errOut, code := c.run("", "secrets", "set", "vault", "TOKEN", "--value", "v-from-argv"); code != 0 || !strings.Contains(errOut, "shell history") {
		t.Fatalf("secrets set --value: exit %d, stderr %q; want success with a warning", code, errOut)
	}
	expect(t, "the secret from --value", read("TOKEN"), 200, "TOKEN=[v-from-argv]")
	if _, errOut, code := c.run("", "secrets", "set", "vault", "EMPTY"); code != 1 || !strings.Contains(errOut, "no value on stdin") {
		t.Fatalf("secrets set with nothing on stdin: exit %d, %q", code, errOut)
	}

	out := c.must("", "secrets", "list", "vault")
	for _, name := range []string{"API_KEY", "TLS_KEY", "TOKEN", "FINGERPRINT"} {
		if !strings.Contains(out, name) {
			t.Fatalf("secrets list lacks %s:\n%s", name, out)
		}
	}
	asJSON := c.must("", "secrets", "list", "vault", "-o", "json")
	var items []map[string]any
	if err := json.Unmarshal([]byte(asJSON), &items); err != nil || len(items) != 3 {
		t.Fatalf("secrets list -o json: %v, %s", err, asJSON)
	}
	for _, listing := range []string{out, asJSON} {
		for _, v := range []string{value, "BEGIN KEY", "v-from-argv"} {
			if strings.Contains(listing, v) {
				t.Fatalf("a secret's value in the listing:\n%s", listing)
			}
		}
	}

	c.must("", "secrets", "delete", "vault", "API_KEY")
	expect(t, "a deleted secret", read("API_KEY"), 404, "API_KEY is not set")
	if out := c.must("", "secrets", "list", "vault"); strings.Contains(out, "API_KEY") {
		t.Fatalf("secrets list after delete:\n%s", out)
	}
	if _, errOut, code := c.run("", "secrets", "list", "nope"); code != 1 || !strings.Contains(strings.ToLower(errOut), "not found") {
		t.Fatalf("secrets list of a missing app: exit %d, %q", code, errOut)
	}
}
