package admin_test

import (
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

// TestOutsideTextNeverReachesTheDatabaseBroken: a NUL byte an admin or
// a client sends is refused with a field error, or simply not found,
// before bun would fail the query on it (a 500). (Invalid UTF-8 cannot
// arrive: JSON decoding and the query parser replace it.)
func TestOutsideTextNeverReachesTheDatabaseBroken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.create(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		s.runAll(t, []scenario{
			{name: "nul in the source", method: "POST", url: "/apps/shop/scripts",
				body: `{"name":"a","source":"package main\n// \u0000\n"}`, status: 422, want: []string{"NUL"}},
			{name: "nul in an app filter", method: "GET", url: "/invocations?app=%00", status: 404},
			{name: "nul in a chart's app filter", method: "GET", url: "/invocations/per-minute?app=sh%00op", status: 404},
			{name: "nul in a request id", method: "GET", url: "/invocations/a%00b", status: 404},
			{name: "nul in an app name", method: "POST", url: "/apps", body: `{"slug":"x","name":"a\u0000"}`, status: 400, want: []string{`"field":"name"`}},
			{name: "nul in a username", method: "POST", url: "/users", body: `{"username":"a\u0000","password":"a long enough password"}`, status: 400, want: []string{`"field":"username"`}},
			{name: "nul in a domain", method: "POST", url: "/apps/shop/domains", body: `{"pattern":"a\u0000.example.com"}`, status: 400, want: []string{`"field":"pattern"`}},
		})
	})
}
