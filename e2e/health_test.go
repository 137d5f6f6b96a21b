package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// healthFailing always fails.
const healthFailing = `package main

import "picloud"

//picloud:route GET /boom
func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(500, "down")
}
`

// TestScriptHealthAndVersionMessages: `picloud deploy -m` stores the
// message with the versions it makes; a script whose every recent call
// fails is "failing" in the API's script list and in `picloud scripts`,
// never "ok".
func TestScriptHealthAndVersionMessages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startWithAdmin(t, "PICLOUD_DATA_DIR="+tg.DataDir, "PICLOUD_DATABASE_URL="+tg.URL)
		c := newClient(t, s.adminOrigin())
		c.must(adminPassword+"\n", "login", "-u", adminName, "--password-stdin")
		dir := filepath.Join(t.TempDir(), "shop")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{"greet.go": cliGreet, "boom.go": healthFailing})
		c.must("", "deploy", dir, "-m", "first cut")
		if _, errOut, code := c.run("", "deploy", dir, "-m", strings.Repeat("x", 501)); code != 1 || !strings.Contains(errOut, "--message is 501 bytes: at most 500") {
			t.Fatalf("deploy with a long message: exit %d, %s", code, errOut)
		}
		writeFiles(t, dir, map[string]string{"greet.go": strings.Replace(cliGreet, "hello ", "hi ", 1)})
		c.must("", "deploy", dir, "-m", "say hi")

		for range 3 {
			expect(t, "boom", s.do("GET", "/boom", nil, "Host", "shop.localhost"), 500)
		}
		expect(t, "greet", s.do("GET", "/greet/ann", nil, "Host", "shop.localhost"), 200, "hi ann")

		// Records appear within a second; the health follows them.
		failing := regexp.MustCompile(`(?m)^shop\s+boom\s+\d+\s+v1\s+failing \(3 of 3 calls failed\)`)
		healthy := regexp.MustCompile(`(?m)^shop\s+greet\s+\d+\s+v2\s+ok\s`)
		var out string
		eventually(t, 5*time.Second, "boom is failing in picloud scripts", func() bool {
			out = c.must("", "scripts", "--app", "shop")
			return failing.MatchString(out)
		})
		if !healthy.MatchString(out) {
			t.Errorf("greet is not ok:\n%s", out)
		}
		expect(t, "list", s.do("GET", adminAPI+"/apps/shop/scripts", nil), 200,
			`"name":"boom"`, `"health":{"state":"failing","recent_calls":3,"recent_failures":3,`)

		// The versions carry their messages.
		var scripts struct {
			Items []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"items"`
		}
		if err := json.Unmarshal(s.do("GET", adminAPI+"/apps/shop/scripts", nil).Body, &scripts); err != nil {
			t.Fatal(err)
		}
		messages := map[string]string{}
		for _, sc := range scripts.Items {
			var versions struct {
				Items []struct {
					Version int64  `json:"version"`
					Message string `json:"message"`
				} `json:"items"`
			}
			if err := json.Unmarshal(s.do("GET", fmt.Sprintf("%s/scripts/%d/versions", adminAPI, sc.ID), nil).Body, &versions); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range versions.Items {
				got = append(got, fmt.Sprintf("v%d %s", v.Version, v.Message))
			}
			messages[sc.Name] = strings.Join(got, ", ")
		}
		want := map[string]string{"greet": "v2 say hi, v1 first cut", "boom": "v1 first cut"}
		for name, w := range want {
			if messages[name] != w {
				t.Errorf("%s versions: %q, want %q", name, messages[name], w)
			}
		}
	})
}
