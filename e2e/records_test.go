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
