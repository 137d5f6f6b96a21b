package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// echoPath prints the request path, so what a client sends ends up in
// the output column as well as in the path column.
const echoPath = `package main

import (
	"fmt"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	fmt.Println("path", req.Path)
	return picloud.Text(200, "ok")
}
`

// TestHostileRequestsAreRecorded: a NUL byte or invalid UTF-8 in a
// request path is recorded in a readable form, and the normal requests
// around it are recorded too. A `GET /%00` used to make bun write invalid
// SQL, and the whole batch of records (every app's) was lost.
func TestHostileRequestsAreRecorded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startWithAdmin(t, "PICLOUD_DATA_DIR="+tg.DataDir, "PICLOUD_DATABASE_URL="+tg.URL)
		host := []string{"Host", "rec.localhost" + s.base[strings.LastIndex(s.base, ":"):]}
		expect(t, "create app", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "rec"}), 201)
		r := s.do("POST", adminAPI+"/apps/rec/scripts", map[string]string{"name": "echo", "source": echoPath})
		expect(t, "create script", r, 201)
		id := int64(r.json(t)["id"].(float64))
		expect(t, "bind route", s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id),
			map[string]string{"method": "GET", "path": "/*rest"}), 201)

		expect(t, "nul in the path", s.do("GET", "/%00", nil, host...), 200, "ok")
		expect(t, "invalid utf-8 in the path", s.do("GET", "/a%FFb", nil, host...), 200, "ok")
		expect(t, "normal call", s.do("GET", "/normal", nil, host...), 200, "ok")

		want := map[string]bool{"/\u2400": false, "/a\uFFFDb": false, "/normal": false}
		eventually(t, 10*time.Second, "the three calls recorded", func() bool {
			r := s.do("GET", fmt.Sprintf("%s/invocations?script=%d", adminAPI, id), nil)
			var page struct {
				Items []struct {
					Path   string `json:"path"`
					Output string `json:"output"`
				} `json:"items"`
			}
			if r.Status != 200 || json.Unmarshal(r.Body, &page) != nil {
				return false
			}
			for _, inv := range page.Items {
				if _, ok := want[inv.Path]; ok && inv.Output == "path "+inv.Path+"\n" {
					want[inv.Path] = true
				}
			}
			return want["/\u2400"] && want["/a\uFFFDb"] && want["/normal"]
		})
		if strings.Contains(s.logs.String(), "write invocation logs") {
			t.Errorf("a batch of invocation records failed:\n%s", s.logs.String())
		}
	})
}

// TestRecordsNameTheNode: a call's record names the node that ran it:
// cluster.node_name when set (cluster mode or not), else the default
// name, host name and gossip port; the node filter finds it.
func TestRecordsNameTheNode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		for _, tt := range []struct {
			name string
			env  []string
			want func(string) bool
		}{
			{"configured", []string{"PICLOUD_NODE_NAME=e2e-node_1"}, func(n string) bool { return n == "e2e-node_1" }},
			{"default", nil, func(n string) bool { return strings.HasSuffix(n, "-7946") && len(n) > len("-7946") }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := startWithAdmin(t, append(tt.env, "PICLOUD_DATA_DIR="+tg.DataDir, "PICLOUD_DATABASE_URL="+tg.URL)...)
				host := []string{"Host", "hello.localhost" + s.base[strings.LastIndex(s.base, ":"):]}
				r := s.do("GET", "/", nil, host...)
				expect(t, "call hello", r, 200)
				reqID := r.Header.Get("X-Request-Id")
				var node string
				eventually(t, 10*time.Second, "the call recorded", func() bool {
					r := s.do("GET", adminAPI+"/invocations/"+reqID, nil)
					if r.Status != 200 {
						return false
					}
					node, _ = r.json(t)["node"].(string)
					return true
				})
				if !tt.want(node) {
					t.Fatalf("the record of %s names node %q", reqID, node)
				}
				for _, c := range []struct {
					node  string
					found bool
				}{{node, true}, {"another-node", false}} {
					r := s.do("GET", adminAPI+"/invocations?node="+c.node, nil)
					expect(t, "list by node", r, 200)
					if got := strings.Contains(string(r.Body), `"request_id":"`+reqID+`"`); got != c.found {
						t.Errorf("node=%s lists %s: %v, want %v\n%s", c.node, reqID, got, c.found, r.Body)
					}
				}
			})
		}
	})
}
