package admin_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/clientip"
	"github.com/picloud/picloud/internal/testdb"
)

// loginVia posts a login from the loopback address from with the given
// X-Forwarded-For ("" sends none) and returns the status.
func (s *apiServer) loginVia(t *testing.T, from, forwarded, username, password string) int {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/auth/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if forwarded != "" {
		req.Header.Set("X-Forwarded-For", forwarded)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("login %s from %s: %v", username, from, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// TestLoginLimitsBehindAProxy: behind a trusted proxy (127.0.0.1) the
// login limits count the client the proxy forwarded, so a guesser behind
// the proxy locks the user out at the guesser's address only; a client
// that is not a trusted proxy cannot pick its address with the header.
func TestLoginLimitsBehindAProxy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		proxies, err := clientip.Parse([]string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		s := startAPI(t, tg, func(o *admin.Options) { o.TrustedProxies = proxies })
		s.addUser(t, "alice", alicePassword)
		const proxy, guesser, alice, direct = "127.0.0.1", "127.0.0.7", "127.0.0.8", "127.0.0.2"
		expect := func(what, from, forwarded, password string, want int) {
			t.Helper()
			if got := s.loginVia(t, from, forwarded, "alice", password); got != want {
				t.Fatalf("%s: status %d, want %d", what, got, want)
			}
		}
		for i := range 5 {
			// The guesser writes an address of its own choosing first:
			// only the hop the proxy added counts.
			expect(fmt.Sprintf("guess %d", i), proxy, fmt.Sprintf("127.0.0.%d, %s", 100+i, guesser), wrongPassword, 401)
		}
		expect("the guesser's address is locked", proxy, "127.0.0.99, "+guesser, alicePassword, 429)
		expect("alice behind the same proxy", proxy, alice, alicePassword, 200)

		// From a peer that is no trusted proxy the header is ignored.
		for i := range 5 {
			expect(fmt.Sprintf("direct guess %d", i), direct, fmt.Sprintf("127.0.0.%d", 50+i), wrongPassword, 401)
		}
		expect("the direct guesser is locked whatever it forwards", direct, "127.0.0.60", alicePassword, 429)
	})
}
