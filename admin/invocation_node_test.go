package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestInvocationsByNode: every invocation names the node that ran it, in
// the list, by request id and in the stream, and node= keeps one node's.
func TestInvocationsByNode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		ctx := context.Background()
		insert := func(id, node string) {
			t.Helper()
			inv := models.Invocation{RequestID: id, AppID: 1, ScriptID: 7, Method: "GET", Path: "/" + id, Status: 200, Node: node}
			if err := s.db.InsertInvocations(ctx, []models.Invocation{inv}); err != nil {
				t.Fatal(err)
			}
		}
		insert("a1", "pi1-7946")
		insert("b1", "pi2-7946")
		insert("a2", "pi1-7946")
		insert("old", "") // logged before records named a node

		s.runAll(t, []scenario{
			{name: "all", method: "GET", url: "/invocations", status: 200,
				want: []string{`"request_id":"a1"`, `"request_id":"b1"`, `"node":"pi1-7946"`, `"node":"pi2-7946"`, `"node":""`}},
			{name: "one node", method: "GET", url: "/invocations?node=pi1-7946", status: 200,
				want: []string{`"request_id":"a1"`, `"request_id":"a2"`}, notWant: []string{`"request_id":"b1"`, `"request_id":"old"`, "pi2"}},
			{name: "node and paging", method: "GET", url: "/invocations?node=pi1-7946&limit=1", status: 200,
				want: []string{`"request_id":"a2"`}, notWant: []string{`"request_id":"a1"`}},
			{name: "unknown node", method: "GET", url: "/invocations?node=pi9", status: 200, want: []string{`"items":[]`}},
			{name: "by request id", method: "GET", url: "/invocations/b1", status: 200, want: []string{`"node":"pi2-7946"`}},
			{name: "bad node", method: "GET", url: "/invocations?node=pi1%2F..", status: 400, want: []string{`"field":"node"`}},
			{name: "nul node", method: "GET", url: "/invocations?node=%00", status: 400, want: []string{`"field":"node"`}},
			{name: "long node", method: "GET", url: "/invocations?node=" + strings.Repeat("n", 65), status: 400, want: []string{`"field":"node"`}},
			{name: "bad node in the stream", method: "GET", url: "/invocations/stream?node=a%20b", status: 400, want: []string{`"field":"node"`}},
		})

		pi2, _ := s.openStream(t, "node=pi2-7946", nil)
		insert("a3", "pi1-7946")
		insert("b2", "pi2-7946")
		if ev := next(t, pi2); ev.inv.RequestID != "b2" || ev.inv.Node != "pi2-7946" {
			t.Fatalf("stream of pi2 sent %+v, want only b2", ev.inv)
		}
	})
}
