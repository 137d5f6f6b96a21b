package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/models"
)

// API tokens: long-lived bearer tokens for automation, made and revoked
// by their user. A token is APITokenPrefix and a random part like a
// session token's; the prefix tells the two apart without a query and
// makes a leaked token easy to recognise (and to scan for).
const (
	APITokenPrefix = "pic_"
	// maxTokenLifetime bounds expires_in.
	maxTokenLifetime = 3650 * 24 * time.Hour
	// minTokenLifetime keeps expires_in from being a typo for a longer one.
	minTokenLifetime = time.Minute
	// tokenKey is the fasthttp user value holding the *models.APIToken of
	// a request authenticated by one.
	tokenKey = "picloud.admin_api_token"
)

type createTokenInput struct {
	Name string `json:"name"`
	// ExpiresIn is a lifetime such as "90d", "12h" or "30m"; "" never
	// expires.
	ExpiresIn string `json:"expires_in"`
}

// tokenView is an API token as the API shows it; Token (the secret) only
// in the answer that creates it.
type tokenView struct {
	*models.APIToken
	Token string `json:"token,omitempty"`
}

// newAPIToken returns a fresh API token.
func newAPIToken() string { return APITokenPrefix + newToken() }

// isAPIToken reports whether a presented credential claims to be an API
// token rather than a session token.
func isAPIToken(s string) bool { return strings.HasPrefix(s, APITokenPrefix) }

// wellFormedAPIToken reports whether s could be a token newAPIToken made.
func wellFormedAPIToken(s string) bool {
	return isAPIToken(s) && wellFormedToken(s[len(APITokenPrefix):])
}

// parseLifetime reads expires_in: a Go duration ("12h", "90m") or a whole
// number of days ("90d"); "" means no expiry (0).
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int64
		n, err = strconv.ParseInt(days, 10, 64)
		if err == nil && (n <= 0 || n > int64(maxTokenLifetime/(24*time.Hour))) {
			return 0, invalid("expires_in", "must be from %s to %dd, got %q", minTokenLifetime, maxTokenLifetime/(24*time.Hour), s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, invalid("expires_in", "must be a duration such as \"90d\", \"12h\" or \"30m\" (\"\" for none), got %q", s)
	}
	if d < minTokenLifetime || d > maxTokenLifetime {
		return 0, invalid("expires_in", "must be from %s to %dd, got %q", minTokenLifetime, maxTokenLifetime/(24*time.Hour), s)
	}
	return d, nil
}

// createToken serves POST /tokens: a new token of the caller, answered
// once.
func (a *API) createToken(ctx context.Context, rc *fasthttp.RequestCtx) error {
	var in createTokenInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if err := validateName("name", in.Name, 64); err != nil {
		return err
	}
	lifetime, err := parseLifetime(in.ExpiresIn)
	if err != nil {
		return err
	}
	user := sessionOf(rc).User
	secret := newAPIToken()
	now := a.now()
	t := &models.APIToken{UserID: user.ID, Name: in.Name, TokenHash: tokenHash(secret), CreatedAt: now}
	if lifetime > 0 {
		expires := now.Add(lifetime)
		t.ExpiresAt = &expires
	}
	if err := a.db.CreateAPIToken(ctx, t); err != nil {
		return err
	}
	a.logger.Info("api token created", "username", user.Username, "token", t.ID, "name", t.Name,
		"request_id", apierror.RequestID(rc))
	rc.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	a.reply(rc, fasthttp.StatusCreated, tokenView{APIToken: t, Token: secret})
	return nil
}

// listTokens serves GET /tokens: the caller's tokens, by name, with their
// last use; never their secrets.
func (a *API) listTokens(ctx context.Context, rc *fasthttp.RequestCtx) error {
	tokens, err := a.db.ListAPITokens(ctx, sessionOf(rc).UserID)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(tokens))
	return nil
}

// revokeToken serves DELETE /tokens/{id}: the caller revokes one of
// their tokens; it stops working at once.
func (a *API) revokeToken(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	s := sessionOf(rc)
	if err := a.db.DeleteAPIToken(ctx, s.UserID, id); err != nil {
		return err
	}
	a.logger.Info("api token revoked", "username", s.User.Username, "token", id, "request_id", apierror.RequestID(rc))
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// apiTokenOf returns the API token a request was authenticated by, or nil
// for a session.
func apiTokenOf(rc *fasthttp.RequestCtx) *models.APIToken {
	t, _ := rc.UserValue(tokenKey).(*models.APIToken)
	return t
}

// requireAPIToken is RequireSession for a bearer API token. On success
// the request carries the token (apiTokenOf) and a session-shaped view of
// it (sessionOf: ID 0, the token's user), so every handler serves it as
// it serves a session.
func (a *API) requireAPIToken(rc *fasthttp.RequestCtx, token string) bool {
	if !wellFormedAPIToken(token) {
		unauthorized(rc, "invalid API token")
		return false
	}
	ctx, cancel := a.requestContext(rc)
	defer cancel()
	t, err := a.db.APITokenByHash(ctx, tokenHash(token))
	switch {
	case err == nil:
	case isNotFound(err):
		unauthorized(rc, "invalid API token (revoked or never issued)")
		return false
	default:
		a.fail(rc, fmt.Errorf("look up api token: %w", err))
		return false
	}
	now := a.now()
	if t.Expired(now) {
		unauthorized(rc, "API token expired; create a new one")
		return false
	}
	if !a.userMayUseAPI(rc, t.User) {
		return false
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= sessionTouchEvery {
		if err := a.db.TouchAPIToken(ctx, t.ID, now); err != nil {
			a.logger.Warn("record api token use", "request_id", apierror.RequestID(rc), "user", t.User.Username, "token", t.ID, "err", err)
		} else {
			t.LastUsedAt = &now
		}
	}
	s := &models.Session{UserID: t.UserID, User: t.User, CreatedAt: t.CreatedAt, LastUsedAt: now}
	if t.ExpiresAt != nil {
		s.ExpiresAt = *t.ExpiresAt
	}
	rc.SetUserValue(tokenKey, t)
	rc.SetUserValue(sessionKey, s)
	return true
}
