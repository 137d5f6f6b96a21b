package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	ring, err := NewKeyring(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	sealed, id, err := ring.Seal(7, "API_KEY", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed value holds the clear value")
	}
	if got, err := ring.Open(7, "API_KEY", sealed, id); err != nil || string(got) != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _, _ := ring.Seal(7, "API_KEY", []byte("hunter2"))
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	refused := []struct {
		name   string
		app    int64
		secret string
		sealed []byte
		id     string
	}{
		{"another app", 8, "API_KEY", sealed, id},
		{"another name", 7, "OTHER", sealed, id},
		{"altered", 7, "API_KEY", tampered, id},
		{"too short", 7, "API_KEY", sealed[:4], id},
	}
	for _, r := range refused {
		if _, err := ring.Open(r.app, r.secret, r.sealed, r.id); err == nil {
			t.Errorf("%s: Open succeeded", r.name)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the value: %v", r.name, err)
		}
	}
	other, _ := NewKeyring(testKey(2))
	if _, err := other.Open(7, "API_KEY", sealed, id); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open under a keyring without the key: %v, want ErrUnknownKey", err)
	}
}

func TestFingerprint(t *testing.T) {
	a, _ := NewKeyring(testKey(1))
	b, _ := NewKeyring(testKey(2))
	again, _ := NewKeyring(testKey(1))
	if a.Fingerprint([]byte("x")) != again.Fingerprint([]byte("x")) {
		t.Error("fingerprint is not stable")
	}
	if a.Fingerprint([]byte("x")) == a.Fingerprint([]byte("y")) {
		t.Error("two values share a fingerprint")
	}
	if a.Fingerprint([]byte("x")) == b.Fingerprint([]byte("x")) {
		t.Error("fingerprint does not depend on the key: anyone could guess values from it")
	}
	if len(a.Fingerprint(nil)) != fingerprintLen {
		t.Errorf("fingerprint %q is not %d characters", a.Fingerprint(nil), fingerprintLen)
	}
}

func TestLoad(t *testing.T) {
	noEnv := func(string) string { return "" }
	t.Run("first start makes a key file of mode 0600", func(t *testing.T) {
		dir := t.TempDir()
		ring, created, err := Load(dir, noEnv)
		if err != nil || !created {
			t.Fatalf("Load = %v, created %v", err, created)
		}
		info, err := os.Stat(filepath.Join(dir, KeyFileName))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
		}
		again, created, err := Load(dir, noEnv)
		if err != nil || created || again.CurrentID() != ring.CurrentID() {
			t.Errorf("second Load = %v, created %v, key %s (first %s)", err, created, again.CurrentID(), ring.CurrentID())
		}
	})
	t.Run("the environment's key seals, the file's still open", func(t *testing.T) {
		dir := t.TempDir()
		old, _, err := Load(dir, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		sealed, id, _ := old.Seal(1, "A", []byte("v"))
		env := func(string) string { return base64.StdEncoding.EncodeToString(testKey(9)) }
		ring, created, err := Load(dir, env)
		if err != nil || created {
			t.Fatalf("Load = %v, created %v", err, created)
		}
		if ring.CurrentID() == old.CurrentID() {
			t.Error("the environment's key is not current")
		}
		if v, err := ring.Open(1, "A", sealed, id); err != nil || string(v) != "v" {
			t.Errorf("the old key no longer opens: %q, %v", v, err)
		}
	})
	t.Run("a bad key is refused", func(t *testing.T) {
		_, _, err := Load(t.TempDir(), func(string) string { return "short" })
		if err == nil || !strings.Contains(err.Error(), EnvKey) {
			t.Errorf("Load with a bad key = %v, want an error naming %s", err, EnvKey)
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, KeyFileName), []byte("# nothing\n"), 0o600)
		if _, _, err := Load(dir, noEnv); err == nil {
			t.Error("Load of a key file without a key succeeded")
		}
	})
}
