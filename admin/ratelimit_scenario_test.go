package admin_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// loginFrom posts a login from the loopback address from (any 127.0.0.0/8
// address is this machine) and returns the status and Retry-After.
func (s *apiServer) loginFrom(t *testing.T, from, username, password string) (int, string) {
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
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("login %s from %s: %v", username, from, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get("Retry-After")
}

// expectLogin fails unless a login from an address answers status.
func (s *apiServer) expectLogin(t *testing.T, what, from, username, password string, status int) string {
	t.Helper()
	got, retry := s.loginFrom(t, from, username, password)
	if got != status {
		t.Fatalf("%s: login %s from %s: status %d, want %d", what, username, from, got, status)
	}
	return retry
}

const (
	alicePassword = "alice's long password"
	wrongPassword = "not the password"
)

// TestLoginLimitsPerAddress: a guesser at one address locks the guessed
// user out at that address only. Before, five wrong passwords from
// anywhere made the right one fail with 429 from every address, and one
// more try every few minutes kept it so.
func TestLoginLimitsPerAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.addUser(t, "alice", alicePassword)
		const attacker, admin = "127.0.0.2", "127.0.0.1"

		// Five failures for one username, in any case, from one address
		// lock that username out at that address.
		for _, name := range []string{"alice", "ALICE", "Alice", "alice", "aLiCe"} {
			s.expectLogin(t, "guess", attacker, name, wrongPassword, 401)
		}
		if retry := s.expectLogin(t, "right password at the guesser's address", attacker, "alice", alicePassword, 429); retry != "180" {
			t.Fatalf("Retry-After = %q, want 180", retry)
		}
		s.expectLogin(t, "another user at the guesser's address", attacker, rootName, rootPassword, 200)
		s.expectLogin(t, "alice at her own address", admin, "alice", alicePassword, 200)

		// The guesser keeps trying whenever a try comes back, for two
		// hours; alice logs in between every try.
		for i := range 40 {
			s.clock.Advance(3 * time.Minute)
			s.expectLogin(t, fmt.Sprintf("guess %d", i), attacker, "alice", wrongPassword, 401)
			s.expectLogin(t, "guessed again", attacker, "alice", wrongPassword, 429)
			s.expectLogin(t, fmt.Sprintf("alice after guess %d", i), admin, "alice", alicePassword, 200)
		}
		s.clock.Advance(3 * time.Minute)
		s.expectLogin(t, "alice at the guesser's address after 3 minutes", attacker, "alice", alicePassword, 200)

		// Twenty failures from one address, spread over usernames, lock
		// the address out, for every username, and no other address.
		const spray = "127.0.0.3"
		for i := range 20 {
			s.expectLogin(t, "spray", spray, fmt.Sprintf("user%d", i), wrongPassword, 401)
		}
		retry := s.expectLogin(t, "root at the spraying address", spray, rootName, rootPassword, 429)
		if secs, err := strconv.Atoi(retry); err != nil || secs < 1 || secs > 45 {
			t.Fatalf("Retry-After = %q, want 1-45 seconds", retry)
		}
		s.expectLogin(t, "root elsewhere", admin, rootName, rootPassword, 200)
		s.clock.Advance(45 * time.Second)
		s.expectLogin(t, "address back after 45s", spray, rootName, rootPassword, 200)
		// A success does not wipe the address's record.
		s.expectLogin(t, "one more failure", spray, "someone", wrongPassword, 401)
		s.expectLogin(t, "address again limited", spray, rootName, rootPassword, 429)
	})
}

// TestLoginLimitsDistributedGuessing: guessing one user's password from
// many addresses stays slow (50 guesses, then one every 72 seconds), and
// the user still logs in from an address it has logged in from before.
func TestLoginLimitsDistributedGuessing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.addUser(t, "alice", alicePassword)
		const known = "127.0.0.1"
		s.expectLogin(t, "alice's usual address", known, "alice", alicePassword, 200)

		// A fresh address for every guess, four guesses a minute, for
		// an hour; the first addresses guess their five at once.
		guesser := 0
		next := func() string {
			guesser++
			return fmt.Sprintf("127.0.%d.%d", 1+guesser/250, 1+guesser%250)
		}
		accepted := 0
		guess := func() {
			status, _ := s.loginFrom(t, next(), "alice", wrongPassword)
			switch status {
			case 401:
				accepted++
			case 429:
			default:
				t.Fatalf("guess: status %d", status)
			}
		}
		for range 60 {
			guess()
		}
		if accepted != 50 {
			t.Fatalf("%d guesses checked at once, want 50", accepted)
		}
		s.expectLogin(t, "alice at her usual address", known, "alice", alicePassword, 200)
		retry := s.expectLogin(t, "alice at a new address", "127.0.0.9", "alice", alicePassword, 429)
		if secs, err := strconv.Atoi(retry); err != nil || secs < 1 || secs > 72 {
			t.Fatalf("Retry-After = %q, want 1-72 seconds", retry)
		}
		s.expectLogin(t, "another user at a new address", "127.0.0.9", rootName, rootPassword, 200)

		for range 240 {
			s.clock.Advance(15 * time.Second)
			guess()
		}
		// One guess earned back every 72 seconds: 50 in the hour.
		if accepted > 50+51 {
			t.Fatalf("%d guesses checked in the first hour, want at most %d", accepted, 50+51)
		}
		s.expectLogin(t, "alice at her usual address after an hour of guessing", known, "alice", alicePassword, 200)
	})
}
