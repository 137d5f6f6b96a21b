package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// post sends an authenticated JSON POST without failing t, so that it
// can run on any goroutine; it returns the status and body.
func (s *apiServer) post(url, body string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// TestConflictingRoutesFromTwoNodes: two admin APIs (two nodes) on one
// database, asked at the same moment for routes that conflict, store
// exactly one; every other request is answered 409. A process-local lock
// could not do this; the database's unique route shape does.
func TestConflictingRoutesFromTwoNodes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		n1 := startAPI(t, tg)
		n2 := startBareAPI(t, tg)
		n2.token = n1.token // sessions live in the shared database
		nodes := []*apiServer{n1, n2}
		n1.create(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		id := n1.create(t, scenario{name: "script", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "users", "source": okSource}, status: 201})

		const rounds, writers = 8, 6
		for round := range rounds {
			type answer struct {
				status int
				body   string
				err    error
			}
			answers := make([]answer, writers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					<-start
					body := fmt.Sprintf(`{"method":"GET","path":"/r%d/:p%d"}`, round, w)
					st, b, err := nodes[w%len(nodes)].post(fmt.Sprintf("/scripts/%d/routes", id), body)
					answers[w] = answer{st, b, err}
				})
			}
			close(start)
			wg.Wait()
			created := 0
			for _, a := range answers {
				switch {
				case a.err != nil:
					t.Fatalf("round %d: %v", round, a.err)
				case a.status == 201:
					created++
				case a.status != 409 || !strings.Contains(a.body, `"code":"conflict"`) || !strings.Contains(a.body, fmt.Sprintf("conflicts with GET /r%d/:p", round)):
					t.Fatalf("round %d: %d %s, want 201 or a 409 conflict naming the stored route", round, a.status, a.body)
				}
			}
			if created != 1 {
				t.Fatalf("round %d: %d of %d conflicting routes created, want 1", round, created, writers)
			}
		}
	})
}
