// Package secrets owns the encryption of apps' secrets at rest: a Keyring
// of AES-256 keys (the first seals, every one opens), sealing with
// AES-GCM bound to the secret's app and name, the short keyed
// fingerprint that stands in for a value wherever one is shown, and the
// resealing of stored secrets under a new key (rotation).
//
// The key comes from PICLOUD_SECRET_KEY or from the key file in the data
// dir, made (mode 0600) at the first start when there is neither. Values
// are never logged: nothing here formats one into an error or a log line.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// EnvKey names the environment variable holding the current key.
	EnvKey = "PICLOUD_SECRET_KEY"
	// KeyFileName is the key file in the data dir.
	KeyFileName = "secret.key"
	// KeySize is the size of a key: AES-256.
	KeySize = 32
	// fingerprintLen is the hex digits of a fingerprint shown.
	fingerprintLen = 12
)

// ErrUnknownKey: a secret sealed under a key the keyring does not hold.
var ErrUnknownKey = errors.New("secret sealed under an unknown key")

// key is one AES-256 key with the id stored beside what it seals.
type key struct {
	id   string
	aead cipher.AEAD
	// fp keys the fingerprints made while this key is current.
	fp []byte
}

// Keyring seals with its first key and opens with any of its keys.
type Keyring struct {
	keys []key
}

// NewKeyring returns a keyring of raw keys, each KeySize bytes, the first
// current.
func NewKeyring(raw ...[]byte) (*Keyring, error) {
	if len(raw) == 0 {
		return nil, errors.New("secrets: a keyring needs at least one key")
	}
	k := &Keyring{}
	for i, r := range raw {
		if len(r) != KeySize {
			return nil, fmt.Errorf("secrets: key %d is %d bytes, want %d", i+1, len(r), KeySize)
		}
		block, err := aes.NewCipher(r)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secrets: key %d: %w", i+1, err)
		}
		k.keys = append(k.keys, key{id: keyID(r), aead: aead, fp: derive(r, "picloud secret fingerprint")})
	}
	return k, nil
}

// keyID names a key without revealing it.
func keyID(raw []byte) string {
	return "k" + hex.EncodeToString(derive(raw, "picloud secret key id"))[:10]
}

func derive(raw []byte, label string) []byte {
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// CurrentID is the id of the key that seals.
func (k *Keyring) CurrentID() string { return k.keys[0].id }

// Has reports whether the keyring holds the key named id.
func (k *Keyring) Has(id string) bool {
	_, ok := k.find(id)
	return ok
}

func (k *Keyring) find(id string) (key, bool) {
	for _, c := range k.keys {
		if c.id == id {
			return c, true
		}
	}
	return key{}, false
}

// binding is the additional data of a sealed secret: it opens only as
// the secret of the app and name it was sealed for, so a sealed value
// copied to another row does not open.
func binding(appID int64, name string) []byte {
	b := make([]byte, 0, 32+len(name))
	b = append(b, "picloud secret\x00"...)
	b = binary.BigEndian.AppendUint64(b, uint64(appID))
	return append(b, name...)
}

// Seal encrypts value as secret name of app appID under the current key
// and returns the sealed bytes (nonce then ciphertext) and the key's id.
func (k *Keyring) Seal(appID int64, name string, value []byte) (sealed []byte, id string, err error) {
	c := k.keys[0]
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("secrets: nonce: %w", err)
	}
	return c.aead.Seal(nonce, nonce, value, binding(appID, name)), c.id, nil
}

// Open decrypts what Seal made for secret name of app appID under key id.
func (k *Keyring) Open(appID int64, name string, sealed []byte, id string) ([]byte, error) {
	c, ok := k.find(id)
	if !ok {
		return nil, fmt.Errorf("%w: secret %q was sealed under key %s, which this server does not have (see PICLOUD_SECRET_KEY)", ErrUnknownKey, name, id)
	}
	n := c.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("secrets: secret %q: sealed value is too short", name)
	}
	value, err := c.aead.Open(nil, sealed[:n], sealed[n:], binding(appID, name))
	if err != nil {
		return nil, fmt.Errorf("secrets: secret %q does not open under key %s: altered, or stored for another app or name", name, id)
	}
	return value, nil
}

// Fingerprint is a short keyed hash of value: equal values of one
// keyring have equal fingerprints, and without the key a fingerprint
// tells nothing about the value (no guessing a short password from it).
func (k *Keyring) Fingerprint(value []byte) string {
	m := hmac.New(sha256.New, k.keys[0].fp)
	m.Write(value)
	return hex.EncodeToString(m.Sum(nil))[:fingerprintLen]
}

// Load returns the keyring of a server: the key in PICLOUD_SECRET_KEY
// (read through getenv) first when set, then the keys of the key file
// in dataDir, one per line, the first current. With neither, it makes a
// key file with a fresh key (mode 0600). A key is 32 bytes in standard
// base64 or in hex. created reports a new key file.
func Load(dataDir string, getenv func(string) string) (ring *Keyring, created bool, err error) {
	var raw [][]byte
	if v := strings.TrimSpace(getenv(EnvKey)); v != "" {
		r, err := parseKey(v)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvKey, err)
		}
		raw = append(raw, r)
	}
	path := filepath.Join(dataDir, KeyFileName)
	fileKeys, err := readKeyFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && len(raw) == 0:
		r, err := createKeyFile(path)
		if err != nil {
			return nil, false, err
		}
		raw, created = append(raw, r), true
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, false, err
	default:
		for _, r := range fileKeys {
			if len(raw) == 0 || !bytes.Equal(r, raw[0]) {
				raw = append(raw, r)
			}
		}
	}
	ring, err = NewKeyring(raw...)
	return ring, created, err
}

func parseKey(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("a key is %d random bytes in base64 or hex (make one with: openssl rand -base64 32)", KeySize)
}

func readKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		keys = append(keys, r)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no key", path)
	}
	return keys, nil
}

func createKeyFile(path string) ([]byte, error) {
	r := make([]byte, KeySize)
	if _, err := rand.Read(r); err != nil {
		return nil, fmt.Errorf("make secret key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("make secret key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("make secret key file: %w", err)
	}
	content := "# PiCloud's key for app secrets: keep it, back it up, never share it.\n" +
		"# The first key seals; the others only open (rotation: see docs/security.md).\n" +
		base64.StdEncoding.EncodeToString(r) + "\n"
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	return r, nil
}
