package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules.
const (
	// MinPasswordLength is the fewest characters a password may have.
	MinPasswordLength = 12
	// maxPasswordBytes bounds what is hashed.
	maxPasswordBytes = 1024
)

// Argon2Params are the cost parameters of Argon2id password hashes.
type Argon2Params struct {
	// Memory in KiB.
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2Params are the parameters every new hash gets unless a
// test asks for cheaper ones: above OWASP's minimum for Argon2id
// (19 MiB, t=2, p=1), at about 0.1 s per hash on two cores.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 64 << 10, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters read back from a stored hash, so that a damaged or
// planted row cannot make a login allocate without limit.
const (
	maxArgon2Memory  = 1 << 20 // KiB: 1 GiB
	maxArgon2Time    = 16
	maxArgon2KeyLen  = 128
	maxArgon2SaltLen = 64
)

// HashPassword returns the Argon2id PHC string of password under p:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>, both base64 without
// padding, with a fresh random salt.
func HashPassword(p Argon2Params, password string) string {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// phc is a parsed Argon2id PHC string.
type phc struct {
	params    Argon2Params
	salt, key []byte
}

func parsePHC(s string) (*phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errors.New("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return nil, fmt.Errorf("unknown parameter %q", k)
		}
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if m < 8 || m > maxArgon2Memory || t < 1 || t > maxArgon2Time || p < 1 || p > 255 ||
		len(salt) < 8 || len(salt) > maxArgon2SaltLen || len(key) < 16 || len(key) > maxArgon2KeyLen {
		return nil, fmt.Errorf("parameters out of range: m=%d t=%d p=%d salt %d key %d bytes", m, t, p, len(salt), len(key))
	}
	return &phc{
		params: Argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))},
		salt:   salt, key: key,
	}, nil
}

// verifyPassword reports whether password matches the PHC string hash,
// comparing in constant time.
func verifyPassword(hash, password string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, fmt.Errorf("verify password: stored hash: %w", err)
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// weakerThan reports whether hash was made with less work than p, so a
// login should store a new one.
func weakerThan(hash string, p Argon2Params) bool {
	h, err := parsePHC(hash)
	if err != nil {
		return true
	}
	return h.params.Memory < p.Memory || h.params.Time < p.Time || h.params.KeyLen < p.KeyLen || len(h.salt) < int(p.SaltLen)
}

// validatePassword enforces the password rules.
func validatePassword(field, password string) error {
	switch {
	case !utf8.ValidString(password):
		return invalid(field, "must be valid UTF-8")
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return invalid(field, "must be at least %d characters", MinPasswordLength)
	case len(password) > maxPasswordBytes:
		return invalid(field, "must be at most %d bytes", maxPasswordBytes)
	}
	return nil
}

// hasher runs Argon2id with the API's parameters, at most a few at a time:
// each run holds Memory KiB, and a burst of logins must not exhaust the
// machine's memory.
type hasher struct {
	params Argon2Params
	slots  chan struct{}
	// dummy is a hash of nothing anyone knows, verified for unknown users
	// so that they take as long as known ones.
	dummy string
	// busy counts the hashes running, so that the last one to finish
	// gives their memory back.
	busy atomic.Int32
}

func newHasher(p Argon2Params, concurrency int) *hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	return &hasher{
		params: p,
		slots:  make(chan struct{}, concurrency),
		dummy:  unknowableHash(p),
	}
}

// unknowableHash is a PHC string under p whose key is random bytes rather
// than the hash of a password: verifying any password against it costs
// what verifying against a real hash under p costs, and fails. Making it
// costs no Argon2 run, so a server does not hold Memory KiB at start for it.
func unknowableHash(p Argon2Params) string {
	salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	_, _ = rand.Read(key)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		h.busy.Add(1)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
}

// release ends a hash. The last one running returns the memory Argon2
// held (Memory KiB per hash, 64 MiB by default) to the operating system
// at once: left to the runtime's background scavenger, a login would keep
// the server's resident memory that much higher for minutes.
func (h *hasher) release() {
	last := h.busy.Add(-1) == 0
	<-h.slots
	if last {
		debug.FreeOSMemory()
	}
}

// hash returns a new PHC string for password.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(h.params, password), nil
}

// verify checks password against the PHC string stored; an empty stored
// hash (an unknown user) checks against the dummy, and fails, in about
// the same time.
func (h *hasher) verify(ctx context.Context, stored, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	if stored == "" {
		_, _ = verifyPassword(h.dummy, password)
		return false, nil
	}
	return verifyPassword(stored, password)
}
