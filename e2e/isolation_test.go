package e2e

import (
	"fmt"
	"testing"
	"time"
)

// Scripts that kill the Go runtime they run in.
const (
	deepRecursion = `package main

import (
	"strconv"

	"picloud"
)

func depth(n int) int { return depth(n+1) + 1 }

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, strconv.Itoa(depth(0)))
}
`
	allocationBomb = `package main

import (
	"strconv"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	b := make([]byte, 16<<30)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return picloud.Text(200, strconv.Itoa(len(b)))
}
`
	sliceGrowth = `package main

import (
	"strconv"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	chunk := make([]byte, 1<<20)
	var s []byte
	for i := 0; ; i++ {
		chunk[0] = byte(i)
		s = append(s, chunk...)
	}
	return picloud.Text(200, strconv.Itoa(len(s)))
}
`
	goroutinePanic = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	go func() { panic("in a goroutine") }()
	return picloud.Text(200, "started")
}
`
)

// addScript uploads source to app and binds it to GET path.
func (s *server) addScript(t *testing.T, app, name, source, path string) {
	t.Helper()
	r := s.do("POST", adminAPI+"/apps/"+app+"/scripts", map[string]string{"name": name, "source": source})
	expect(t, "create script "+name, r, 201)
	id := int64(r.json(t)["id"].(float64))
	r = s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id), map[string]string{"method": "GET", "path": path})
	expect(t, "bind "+path, r, 201)
}

// TestCrashIsolation runs scripts that crash the Go runtime and checks
// that each costs only its own app's worker: the caller gets 502 with
// the JSON error, the server and another app answer at once, and the
// crashed app serves again once its worker restarts.
func TestCrashIsolation(t *testing.T) {
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
	s.newApp(t, "good")
	s.newApp(t, "bad")
	cases := []struct{ name, source string }{
		{"recursion", deepRecursion},
		{"bomb", allocationBomb},
		{"growth", sliceGrowth},
	}
	for _, c := range cases {
		s.addScript(t, "bad", c.name, c.source, "/"+c.name)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The crashed app first serves again: a crash right after
			// the previous one is answered 502 until the backoff ends.
			eventually(t, 30*time.Second, "app bad to recover", func() bool {
				return s.do("GET", "/", nil, "Host", "bad.localhost").Status == 200
			})
			r := s.do("GET", "/"+c.name, nil, "Host", "bad.localhost")
			expect(t, c.name, r, 502, `"code":"worker_crashed"`, `"request_id":"`)
			expect(t, "healthz after "+c.name, s.do("GET", "/healthz", nil), 200, "ok")
			expect(t, "other app after "+c.name, s.do("GET", "/", nil, "Host", "good.localhost"), 200, `"app":"good"`)
			eventually(t, 30*time.Second, "app bad to recover after "+c.name, func() bool {
				return s.do("GET", "/", nil, "Host", "bad.localhost").Status == 200
			})
		})
	}
	// A panic in a script goroutine or a concurrent map write would be
	// fatal too, but scripts cannot start goroutines: upload refuses it.
	r := s.do("POST", adminAPI+"/apps/bad/scripts", map[string]string{"name": "gopanic", "source": goroutinePanic})
	expect(t, "upload a go statement", r, 422, "go statement")
}
