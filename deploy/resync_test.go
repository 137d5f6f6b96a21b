package deploy_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// textScript answers its text.
func textScript(text string) string {
	return `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, ` + strconv.Quote(text) + `)
}
`
}

// nodes numbers the nodes of a test binary.
var nodes atomic.Int64

// node is a deployer with its runtime and the tables it published.
type node struct {
	d         *deploy.Deployer
	rt        *actors.Runtime
	table     atomic.Pointer[ingress.Table]
	published atomic.Int64
}

func newNode(t *testing.T, db *models.DB, every time.Duration, opts ...actors.Option) *node {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := &node{rt: actors.NewRuntime(logger, opts...)}
	t.Cleanup(n.rt.Shutdown)
	n.d = deploy.New(deploy.Options{
		DB: db, Runtime: n.rt, Logger: logger, BaseDomain: "localhost", ResyncInterval: every,
		Limits: actors.Limits{Timeout: 5 * time.Second}.WithDefaults(),
		Node:   "node-" + strconv.Itoa(int(nodes.Add(1))),
		Publish: func(t *ingress.Table) {
			n.table.Store(t)
			n.published.Add(1)
		},
	})
	return n
}

// run runs the deployer's resync loop until the test ends.
func (n *node) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.d.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// call sends GET path to the app serving host and returns the status and
// body, or 0 when no app serves the host.
func (n *node) call(t *testing.T, host, path string) (int, string) {
	t.Helper()
	app := n.table.Load().Resolve([]byte(host)).App
	if app == nil {
		return 0, ""
	}
	reply := actors.NewReply()
	n.rt.Send(app.Router, &actors.Invoke{Request: &actors.Request{Method: "GET", Path: path, Host: host, RequestID: "r"}, Reply: reply})
	select {
	case res := <-reply.C():
		if res.ErrCode == actors.CodeNotFound {
			return 404, res.ErrMessage
		}
		return res.Status, string(res.Body)
	case <-time.After(10 * time.Second):
		t.Fatalf("GET %s%s: no answer", host, path)
		return 0, ""
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestResyncMakesUnannouncedChangesLive: changes written to the database
// without telling the deployer (a lost notification, another node's
// write) go live at the next resync.
func TestResyncMakesUnannouncedChangesLive(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		shop := &models.App{Slug: "shop", Name: "shop"}
		if err := db.CreateApp(ctx, shop); err != nil {
			t.Fatal(err)
		}
		s, _, err := db.CreateScript(ctx, shop.ID, "s", textScript("v1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRoute(ctx, &models.Route{AppID: shop.ID, ScriptID: s.ID, Method: "GET", Path: "/a"}); err != nil {
			t.Fatal(err)
		}
		n := newNode(t, db, 20*time.Millisecond)
		if err := n.d.LoadAll(ctx); err != nil {
			t.Fatal(err)
		}
		if st, body := n.call(t, "shop.localhost", "/a"); st != 200 || body != "v1" {
			t.Fatalf("before: %d %q", st, body)
		}

		// Behind the deployer's back: a route, a version, a new app.
		if err := db.CreateRoute(ctx, &models.Route{AppID: shop.ID, ScriptID: s.ID, Method: "GET", Path: "/b"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.UpdateScript(ctx, s.ID, textScript("v2")); err != nil {
			t.Fatal(err)
		}
		blog := &models.App{Slug: "blog", Name: "blog"}
		if err := db.CreateApp(ctx, blog); err != nil {
			t.Fatal(err)
		}
		bs, _, err := db.CreateScript(ctx, blog.ID, "s", textScript("blog"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRoute(ctx, &models.Route{AppID: blog.ID, ScriptID: bs.ID, Method: "GET", Path: "/"}); err != nil {
			t.Fatal(err)
		}
		if st, _ := n.call(t, "shop.localhost", "/b"); st != 404 {
			t.Fatalf("the new route is live before any resync: %d", st)
		}

		n.run(t)
		eventually(t, "the new route, version and app live", func() bool {
			stB, bodyB := n.call(t, "shop.localhost", "/b")
			stA, bodyA := n.call(t, "shop.localhost", "/a")
			stBlog, bodyBlog := n.call(t, "blog.localhost", "/")
			return stB == 200 && bodyB == "v2" && stA == 200 && bodyA == "v2" && stBlog == 200 && bodyBlog == "blog"
		})

		// A deleted app goes too.
		if _, err := db.DeleteApp(ctx, blog.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the deleted app gone", func() bool {
			st, _ := n.call(t, "blog.localhost", "/")
			return st == 0
		})
	})
}

// TestResyncIsCheapWhenNothingChanged: with nothing changed a resync
// deploys and publishes nothing.
func TestResyncIsCheapWhenNothingChanged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		for _, slug := range []string{"a", "b", "c"} {
			if err := db.CreateApp(ctx, &models.App{Slug: slug, Name: slug}); err != nil {
				t.Fatal(err)
			}
		}
		n := newNode(t, db, time.Hour)
		if err := n.d.LoadAll(ctx); err != nil {
			t.Fatal(err)
		}
		published := n.published.Load()
		for range 5 {
			if err := n.d.Resync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := n.published.Load(); got != published {
			t.Fatalf("%d tables published by resyncs with nothing changed", got-published)
		}
		// An announced change is not deployed a second time by the next
		// resync either.
		name := "renamed"
		if _, err := db.UpdateApp(ctx, 1, models.AppChange{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if err := n.d.AppChanged(ctx, 1); err != nil {
			t.Fatal(err)
		}
		published = n.published.Load()
		if err := n.d.Resync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := n.published.Load(); got != published {
			t.Fatal("a resync redeployed a change AppChanged had made live")
		}
	})
}
