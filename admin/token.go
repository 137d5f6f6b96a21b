package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// tokenBytes is the randomness in a session or setup token.
const tokenBytes = 32

// tokenLen is the length of a token in its text form.
const tokenLen = (tokenBytes*8 + 5) / 6

// newToken returns a fresh random token, URL-safe base64 without padding.
func newToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// wellFormedToken reports whether s could be a token newToken made, so
// that forged or truncated tokens are refused without a query.
func wellFormedToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == tokenBytes
}

// tokenHash is what the database keeps of a token: its hex SHA-256. A
// token has 256 random bits, so a fast hash is enough; no salt needed.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
