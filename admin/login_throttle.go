package admin

import (
	"context"
	"net"
	"time"
)

// Login throttling, after OWASP's advice on account lockout: no address
// can lock a user out at another address, and guessing one user's
// password from many addresses stays slow.
//
//   - Per (username, client address): 5 failures, then one try every 3
//     minutes. This is what a guesser at one address meets; the same user
//     at another address is not affected.
//   - Per client address, whatever the username: 20 failures, then one
//     try every 45 seconds.
//   - Per username, whatever the address: 50 failures, then one try every
//     72 seconds (about 1200 guesses a day against one account, however
//     many addresses the guesser has). It does not apply from an address
//     the user has logged in from within the last 30 days: a distributed
//     guesser can slow the user's logins from new addresses, never from
//     the usual ones. (A device cookie would do the same for users whose
//     address changes; an address is what a login has today.)
//
// A success forgets the failures of its (username, address) pair only:
// the address's and the username's records stay, so a guesser who also
// knows one account cannot reset the others.
const (
	loginFailuresPerPair   = 5
	loginFailuresPerClient = 20
	loginFailuresPerUser   = 50
	// The windows in which each limit's failures are earned back.
	loginPairWindow   = 15 * time.Minute
	loginClientWindow = 15 * time.Minute
	loginUserWindow   = time.Hour

	// knownAddressTTL is how long a user's address counts as known after
	// a successful login from it.
	knownAddressTTL = 30 * 24 * time.Hour
)

// loginThrottle applies the login limits to an attemptStore.
type loginThrottle struct {
	store                       attemptStore
	perPair, perClient, perUser limit
}

func newLoginThrottle(store attemptStore) *loginThrottle {
	return &loginThrottle{
		store:     store,
		perPair:   limit{burst: loginFailuresPerPair, window: loginPairWindow},
		perClient: limit{burst: loginFailuresPerClient, window: loginClientWindow},
		perUser:   limit{burst: loginFailuresPerUser, window: loginUserWindow},
	}
}

// loginKeys are the store keys of one login attempt.
type loginKeys struct {
	pair, client, user, known string
}

func keysOf(username string, ip net.IP) loginKeys {
	u, c := userKey(username), clientKey(ip)
	return loginKeys{
		pair:   "pair:" + u + "|" + c,
		client: "client:" + c,
		user:   "user:" + u,
		known:  "known:" + u + "|" + c,
	}
}

// wait returns how long a login of username from ip must wait: zero when
// it may be tried now.
func (t *loginThrottle) wait(ctx context.Context, username string, ip net.IP, now time.Time) (time.Duration, error) {
	k := keysOf(username, ip)
	pair, err := t.store.Wait(ctx, k.pair, t.perPair, now)
	if err != nil {
		return 0, err
	}
	client, err := t.store.Wait(ctx, k.client, t.perClient, now)
	if err != nil {
		return 0, err
	}
	wait := max(pair, client)
	known, err := t.store.Known(ctx, k.known, now)
	if err != nil || known {
		return wait, err
	}
	user, err := t.store.Wait(ctx, k.user, t.perUser, now)
	return max(wait, user), err
}

// failed counts a wrong password for username from ip.
func (t *loginThrottle) failed(ctx context.Context, username string, ip net.IP, now time.Time) error {
	k := keysOf(username, ip)
	for _, b := range []struct {
		key string
		l   limit
	}{{k.pair, t.perPair}, {k.client, t.perClient}, {k.user, t.perUser}} {
		if err := t.store.Fail(ctx, b.key, b.l, now); err != nil {
			return err
		}
	}
	return nil
}

// succeeded forgets the failures of username at ip and remembers ip as
// one of the user's known addresses.
func (t *loginThrottle) succeeded(ctx context.Context, username string, ip net.IP, now time.Time) error {
	k := keysOf(username, ip)
	if err := t.store.Forget(ctx, k.pair); err != nil {
		return err
	}
	return t.store.Remember(ctx, k.known, now.Add(knownAddressTTL))
}

// clientWait and clientFailed apply the per-address limit alone, to
// attempts that name no user (a setup token).
func (t *loginThrottle) clientWait(ctx context.Context, ip net.IP, now time.Time) (time.Duration, error) {
	return t.store.Wait(ctx, keysOf("", ip).client, t.perClient, now)
}

func (t *loginThrottle) clientFailed(ctx context.Context, ip net.IP, now time.Time) error {
	return t.store.Fail(ctx, keysOf("", ip).client, t.perClient, now)
}

func (t *loginThrottle) sweep(ctx context.Context, now time.Time) error {
	return t.store.Sweep(ctx, now)
}
