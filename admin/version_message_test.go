package admin_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

// TestVersionMessage: a save may say what it changes; the message is
// stored with the version it makes (create, update, deploy by name) and
// listed with the versions. Saving the live source again makes no
// version and keeps the live one's message.
func TestVersionMessage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		id := s.create(t, scenario{name: "create", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "cart", "source": okSource, "message": "  first cut \n"}, status: 201,
			want: []string{`"version":1`, `"message":"first cut"`}})
		u := fmt.Sprintf("/scripts/%d", id)
		v2 := strings.Replace(okSource, `"ok"`, `"ok v2"`, 1)
		v3 := strings.Replace(okSource, `"ok"`, `"ok v3"`, 1)
		s.runAll(t, []scenario{
			{name: "update", method: "PUT", url: u, body: map[string]string{"source": v2, "message": "say v2\nwith a second line"}, status: 200,
				want: []string{`"version":2`, `"message":"say v2\nwith a second line"`}},
			{name: "same source, new message", method: "PUT", url: u, body: map[string]string{"source": v2, "message": "ignored"}, status: 200,
				want: []string{`"version":2`, `"message":"say v2\nwith a second line"`}, notWant: []string{"ignored"}},
			{name: "no message", method: "PUT", url: u, body: map[string]string{"source": v3}, status: 200,
				want: []string{`"version":3`}, notWant: []string{`"message"`}},
			{name: "by name", method: "PUT", url: "/apps/shop/scripts/by-name/cart", body: map[string]string{"source": okSource, "message": "back to the first text"}, status: 200,
				want: []string{`"version":4`, `"message":"back to the first text"`}},
			{name: "by name creates", method: "PUT", url: "/apps/shop/scripts/by-name/fresh", body: map[string]string{"source": okSource, "message": "new"}, status: 201,
				want: []string{`"version":1`, `"message":"new"`}},
			{name: "too long", method: "PUT", url: u, body: map[string]string{"source": v2, "message": strings.Repeat("x", 501)}, status: 400,
				want: []string{`"field":"message"`, "at most 500 bytes"}},
			{name: "control character", method: "PUT", url: u, body: map[string]string{"source": v2, "message": "bell\a"}, status: 400,
				want: []string{`"field":"message"`, "control characters"}},
			{name: "too long by name", method: "PUT", url: "/apps/shop/scripts/by-name/cart", body: map[string]string{"source": v2, "message": strings.Repeat("é", 251)}, status: 400,
				want: []string{`"field":"message"`}},
			{name: "live message", method: "GET", url: u, status: 200, want: []string{`"version":4`, `"message":"back to the first text"`}},
		})

		var versions struct {
			Items []struct {
				Version int64  `json:"version"`
				Message string `json:"message"`
			} `json:"items"`
		}
		body := s.run(t, scenario{name: "versions", method: "GET", url: u + "/versions", status: 200})
		if err := json.Unmarshal(body, &versions); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range versions.Items {
			got = append(got, fmt.Sprintf("v%d %q", v.Version, v.Message))
		}
		want := []string{`v4 "back to the first text"`, `v3 ""`, `v2 "say v2\nwith a second line"`, `v1 "first cut"`}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("versions %v, want %v", got, want)
		}
	})
}
