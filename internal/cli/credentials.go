package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// credentialsFile is where logins are kept, in the user's config dir.
const credentialsFile = "picloud/credentials.json"

// credentials are the stored logins, one per server, and the server used
// when none is named.
type credentials struct {
	Default string                `json:"default_server,omitempty"`
	Servers map[string]credential `json:"servers"`
}

// credential is one server's login.
type credential struct {
	Username  string     `json:"username,omitempty"`
	Token     string     `json:"token"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (g *globals) credentialsPath() (string, error) {
	dir, err := g.env.ConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config dir for credentials: %w", err)
	}
	return filepath.Join(dir, credentialsFile), nil
}

// loadCredentials reads the stored logins; none stored is no error.
func (g *globals) loadCredentials() (*credentials, error) {
	c := &credentials{Servers: map[string]credential{}}
	path, err := g.credentialsPath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("read credentials %s: %w (delete the file and log in again)", path, err)
	}
	if c.Servers == nil {
		c.Servers = map[string]credential{}
	}
	return c, nil
}

// saveCredentials writes the logins readable by the user alone (0600 in
// a 0700 folder), replacing the file in one step.
func (g *globals) saveCredentials(c *credentials) error {
	path, err := g.credentialsPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*.json")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}
