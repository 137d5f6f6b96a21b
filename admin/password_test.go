package admin

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

func cheapParams() Argon2Params {
	return Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// TestDefaultArgon2Params: the binary's parameters are at or above
// OWASP's minimum for Argon2id (m=19 MiB, t=2, p=1).
func TestDefaultArgon2Params(t *testing.T) {
	p := DefaultArgon2Params()
	if p.Memory < 19456 || p.Time < 2 || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 32 {
		t.Fatalf("DefaultArgon2Params = %+v, below OWASP's minimum", p)
	}
	if p.Memory*p.Time < 19456*2 {
		t.Fatalf("DefaultArgon2Params = %+v does less work than m=19456,t=2", p)
	}
	hash := HashPassword(p, "a strong enough password")
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q is not the expected PHC string", hash)
	}
}

func TestVerifyPassword(t *testing.T) {
	hash := HashPassword(cheapParams(), "the password!")
	if hash == HashPassword(cheapParams(), "the password!") {
		t.Fatal("two hashes of one password are equal: no salt?")
	}
	parts := strings.Split(hash, "$")
	tests := []struct {
		name     string
		hash     string
		password string
		ok       bool
		err      bool
	}{
		{"right", hash, "the password!", true, false},
		{"wrong", hash, "the password?", false, false},
		{"empty", hash, "", false, false},
		{"prefix", hash, "the password", false, false},
		{"argon2i", strings.Replace(hash, "argon2id", "argon2i", 1), "the password!", false, true},
		{"other version", strings.Replace(hash, "v=19", "v=16", 1), "the password!", false, true},
		{"huge memory", strings.Replace(hash, "m=64,", "m=4294967295,", 1), "the password!", false, true},
		{"zero time", strings.Replace(hash, "t=1,", "t=0,", 1), "the password!", false, true},
		{"unknown parameter", strings.Replace(hash, "p=1", "p=1,x=2", 1), "the password!", false, true},
		{"short key", strings.Join(append(parts[:5:5], "AAAA"), "$"), "the password!", false, true},
		{"bad base64", strings.Join(append(parts[:5:5], "!!!!"), "$"), "the password!", false, true},
		{"plaintext", "the password!", "the password!", false, true},
		{"empty hash", "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := verifyPassword(tt.hash, tt.password)
			if ok != tt.ok || (err != nil) != tt.err {
				t.Fatalf("verifyPassword = %v, %v; want %v, error %v", ok, err, tt.ok, tt.err)
			}
		})
	}
}

func TestWeakerThan(t *testing.T) {
	cheap := HashPassword(cheapParams(), "x")
	if !weakerThan(cheap, DefaultArgon2Params()) {
		t.Error("a cheap hash is not weaker than the default")
	}
	if weakerThan(cheap, cheapParams()) {
		t.Error("a hash is weaker than its own parameters")
	}
	if !weakerThan("garbage", cheapParams()) {
		t.Error("an unreadable hash is not due for a rehash")
	}
}

// TestHasherUnknownUser: an unknown user (no stored hash) never matches,
// whatever the password.
func TestHasherUnknownUser(t *testing.T) {
	h := newHasher(cheapParams(), 1)
	for _, pw := range []string{"", "x", h.dummy} {
		if ok, err := h.verify(context.Background(), "", pw); ok || err != nil {
			t.Fatalf("verify of an unknown user with %q = %v, %v", pw, ok, err)
		}
	}
}

// TestHasherStartsWithoutArgon2: building the hasher (every server start)
// runs no Argon2, which would hold Memory KiB, yet its dummy hash has the
// parameters of a real one, so an unknown user costs what a known one does.
func TestHasherStartsWithoutArgon2(t *testing.T) {
	p := Argon2Params{Memory: 32 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h := newHasher(p, 1)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew >= uint64(p.Memory)<<10 {
		t.Fatalf("newHasher allocated %d bytes: it ran Argon2 (%d KiB)", grew, p.Memory)
	}
	dummy, err := parsePHC(h.dummy)
	if err != nil {
		t.Fatalf("dummy hash %q: %v", h.dummy, err)
	}
	if dummy.params != p {
		t.Fatalf("dummy hash parameters = %+v, want %+v", dummy.params, p)
	}
	if other := newHasher(p, 1); other.dummy == h.dummy {
		t.Fatal("two hashers share a dummy hash: it is not random")
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		password string
		ok       bool
	}{
		{"", false},
		{"elevenchars", false},
		{"twelve chars", true},
		{"ééééééééééé", false},
		{"éééééééééééé", true},
		{strings.Repeat("x", 1024), true},
		{strings.Repeat("x", 1025), false},
		{"\xff\xfe invalid utf8!", false},
	}
	for _, tt := range tests {
		if err := validatePassword("password", tt.password); (err == nil) != tt.ok {
			t.Errorf("validatePassword(%q) = %v, want ok %v", tt.password, err, tt.ok)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := newToken(), newToken()
	if a == b || len(a) != tokenLen || !wellFormedToken(a) {
		t.Fatalf("tokens %q, %q", a, b)
	}
	for _, bad := range []string{"", a[:tokenLen-1], a + "A", strings.Repeat("=", tokenLen), a[:tokenLen-1] + "+"} {
		if wellFormedToken(bad) {
			t.Errorf("wellFormedToken(%q) = true", bad)
		}
	}
	if h := tokenHash(a); len(h) != 64 || strings.Contains(h, a) {
		t.Errorf("tokenHash = %q", h)
	}
}
