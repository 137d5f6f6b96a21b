package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// crashScript panics on every call.
const crashScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	panic("boom")
}
`

// TestParkingHoldsOnEveryNode: two deployers on one database, as two
// nodes. A script that crash-loops on the first is parked there; the
// parking is stored and the second parks the version too (at its next
// resync, without a call reaching it), answering 503 naming the first;
// a new version serves again on both.
func TestParkingHoldsOnEveryNode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		shop := &models.App{Slug: "shop", Name: "shop"}
		if err := db.CreateApp(ctx, shop); err != nil {
			t.Fatal(err)
		}
		s, _, err := db.CreateScript(ctx, shop.ID, "s", crashScript)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRoute(ctx, &models.Route{AppID: shop.ID, ScriptID: s.ID, Method: "GET", Path: "/"}); err != nil {
			t.Fatal(err)
		}
		var a *node
		a = newNode(t, db, 20*time.Millisecond, actors.WithParkReports(func(p actors.Parked) {
			go func() {
				if err := a.d.RecordParked(ctx, p); err != nil {
					t.Errorf("RecordParked: %v", err)
				}
			}()
		}))
		b := newNode(t, db, 20*time.Millisecond)
		for _, n := range []*node{a, b} {
			if err := n.d.LoadAll(ctx); err != nil {
				t.Fatal(err)
			}
			n.run(t)
		}
		var st int
		for range actors.DefaultCrashLimit + 1 {
			if st, _ = a.call(t, "shop.localhost", "/"); st != 500 {
				t.Fatalf("crashing call on a = %d, want 500", st)
			}
		}
		if st, _ = a.call(t, "shop.localhost", "/"); st != 503 {
			t.Fatalf("a after %d crashes = %d, want 503 (parked)", actors.DefaultCrashLimit+1, st)
		}
		var parking *models.ParkedScript
		eventually(t, "the parking stored", func() bool {
			parking, err = db.ScriptParking(ctx, s.ID, time.Now())
			return err == nil && parking != nil
		})
		if parking.Version != 1 || !strings.HasPrefix(parking.Node, "node-") || !strings.Contains(parking.Reason, "crashed 6 times") {
			t.Errorf("stored parking = %+v", parking)
		}
		// b is not called until it parked: calls would crash there too.
		eventually(t, "b parks it too", func() bool {
			st, err := b.d.AppStatus(ctx, shop.ID)
			return err == nil && len(st.Pools) == 1 && st.Pools[0].ParkedUntil.Equal(parking.ParkedUntil)
		})
		if !parkedBy(t, b, parking.Node) {
			t.Fatalf("b does not answer that %s parked it", parking.Node)
		}

		if _, _, err := db.UpdateScript(ctx, s.ID, textScript("fixed")); err != nil {
			t.Fatal(err)
		}
		for name, n := range map[string]*node{"a": a, "b": b} {
			eventually(t, "the fixed version serving on "+name, func() bool {
				st, body := n.call(t, "shop.localhost", "/")
				return st == 200 && body == "fixed"
			})
		}
	})
}

// parkedBy reports whether n's router answers GET shop.localhost/ as
// parked on node by.
func parkedBy(t *testing.T, n *node, by string) bool {
	t.Helper()
	app := n.table.Load().Resolve([]byte("shop.localhost")).App
	reply := actors.NewReply()
	n.rt.Send(app.Router, &actors.Invoke{Request: &actors.Request{Method: "GET", Path: "/", Host: "shop.localhost", RequestID: "r"}, Reply: reply})
	select {
	case res := <-reply.C():
		return res.Status == 503 && res.ErrCode == actors.CodeParked && strings.Contains(res.ErrMessage, "parked on node "+by)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
		return false
	}
}
