package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/picloud/picloud/models"
)

// The environment variables that create the first admin user.
const (
	EnvAdminUsername = "PICLOUD_ADMIN_USERNAME"
	EnvAdminPassword = "PICLOUD_ADMIN_PASSWORD"
)

// Bootstrap says how to make the first admin user.
type Bootstrap struct {
	// Username and Password, from EnvAdminUsername and EnvAdminPassword,
	// create the first admin user while none exists; afterwards they are
	// ignored with a warning. They never change an existing user.
	Username, Password string
	// AdminURL is the origin of the admin UI (the admin host); the setup
	// link is AdminURL + "/admin/setup?token=...".
	AdminURL string
	// Out receives the setup link, printed once, when no admin user exists
	// and no Username and Password are given. It is the only place the
	// setup token is ever written.
	Out io.Writer
}

// Bootstrap makes sure an admin user exists or can be created: from the
// variables of b, or through a one-time setup link printed to b.Out.
func (a *API) Bootstrap(ctx context.Context, b Bootstrap) error {
	n, err := a.db.CountAdminUsers(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	given := b.Username != "" || b.Password != ""
	switch {
	case n > 0 && given:
		a.warnInert()
		return nil
	case n > 0:
		return nil
	case given:
		return a.bootstrapFromEnv(ctx, b.Username, b.Password)
	default:
		return a.printSetupLink(ctx, b.AdminURL, b.Out)
	}
}

func (a *API) warnInert() {
	a.logger.Warn(EnvAdminUsername + " and " + EnvAdminPassword + " ignored: admin users already exist " +
		"(the variables only create the first admin; change passwords through the admin API)")
}

func (a *API) bootstrapFromEnv(ctx context.Context, username, password string) error {
	if username == "" || password == "" {
		return fmt.Errorf("bootstrap admin: set both %s and %s, or neither", EnvAdminUsername, EnvAdminPassword)
	}
	if !validUsername(username) {
		return fmt.Errorf("bootstrap admin: %s must be 1-%d of ASCII letters, digits, '.', '_', '-' and '@', starting with a letter or digit",
			EnvAdminUsername, maxUsernameLen)
	}
	if err := validatePassword(EnvAdminPassword, password); err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	hash, err := a.hasher.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	err = a.db.CreateFirstAdminUser(ctx, &models.AdminUser{Username: username, PasswordHash: hash, Role: models.RoleAdmin})
	switch {
	case errors.Is(err, models.ErrConflict):
		// Another node created an admin first.
		a.warnInert()
		return nil
	case err != nil:
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	a.logger.Info("created the first admin user from "+EnvAdminUsername, "username", username)
	return nil
}

func (a *API) printSetupLink(ctx context.Context, base string, out io.Writer) error {
	now := a.now()
	if err := a.db.PurgeExpiredSetupTokens(ctx, now); err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	token := newToken()
	expires := now.Add(SetupTokenTTL)
	if err := a.db.CreateSetupToken(ctx, tokenHash(token), now, expires); err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	link := base + "/admin/setup?token=" + url.QueryEscape(token)
	fmt.Fprintf(out, "\nNo admin user exists yet. Create the first one, once, within %s at:\n\n    %s\n\n"+
		"(from a shell: POST %s/auth/setup {\"token\":\"<token of the link>\",\"username\":...,\"password\":...};\n"+
		"or restart with %s and %s set)\n\n",
		SetupTokenTTL, link, Prefix, EnvAdminUsername, EnvAdminPassword)
	a.logger.Warn("no admin user yet: printed a one-time setup link", "expires_at", expires.UTC().Format(time.RFC3339))
	return nil
}
