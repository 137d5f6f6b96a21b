package admin_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

func TestLoginRateLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.addUser(t, "alice", "alice's long password")
		bad := func(user string) scenario {
			return scenario{name: "bad password for " + user, method: "POST", url: "/auth/login", anon: true,
				body: map[string]string{"username": user, "password": "not the password"}, status: 401}
		}
		good := func(name, user, password string, status int) scenario {
			return scenario{name: name, method: "POST", url: "/auth/login", anon: true,
				body: map[string]string{"username": user, "password": password}, status: status}
		}

		// Five failures for one username, in any case, lock it out; even
		// the right password then gets 429 with Retry-After.
		for i := range 5 {
			s.run(t, bad([]string{"alice", "ALICE", "Alice", "alice", "aLiCe"}[i]))
		}
		s.run(t, scenario{name: "locked out", method: "POST", url: "/auth/login", anon: true,
			body:   map[string]string{"username": "alice", "password": "alice's long password"},
			status: 429, want: []string{`"code":"too_many_attempts"`},
			wantHeaders: map[string]string{"Retry-After": "180"}})
		s.run(t, good("another user is not locked out", rootName, rootPassword, 200))

		// One try comes back every three minutes.
		s.clock.Advance(3 * time.Minute)
		s.run(t, good("after 3 minutes", "alice", "alice's long password", 200))

		// Twenty failures from one address, spread over usernames that
		// never fail five times, lock the address out.
		s.clock.Advance(15 * time.Minute)
		for i := range 20 {
			s.run(t, bad(fmt.Sprintf("user%d", i)))
		}
		res, body := s.raw(t, "POST", "/auth/login", `{"username":"root","password":"`+rootPassword+`"}`, nil)
		if res.StatusCode != 429 {
			t.Fatalf("after 20 failures from one address: %d %s", res.StatusCode, body)
		}
		if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 45 {
			t.Fatalf("Retry-After = %q, want 1-45 seconds", res.Header.Get("Retry-After"))
		}
		s.clock.Advance(45 * time.Second)
		s.run(t, good("address back after 45s", rootName, rootPassword, 200))
		// A success does not wipe the address's record.
		s.run(t, bad("someone"))
		s.run(t, scenario{name: "address again limited", method: "POST", url: "/auth/login", anon: true,
			body: map[string]string{"username": rootName, "password": rootPassword}, status: 429})
	})
}
