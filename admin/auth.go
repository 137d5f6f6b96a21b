package admin

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/models"
)

const (
	// concurrentHashes bounds Argon2id runs at once (each holds its
	// memory parameter, 64 MiB by default).
	concurrentHashes = 2
	// SetupTokenTTL is how long a setup link stays valid.
	SetupTokenTTL = time.Hour
)

type loginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type setupInput struct {
	Token    string `json:"token"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// sessionView is the answer to a login: the token, once, and whose it is.
type sessionView struct {
	Token     string            `json:"token,omitempty"`
	ExpiresAt time.Time         `json:"expires_at,omitzero"`
	User      *models.AdminUser `json:"user"`
	// APIToken is the token a request came with, when not a session.
	APIToken *models.APIToken `json:"api_token,omitempty"`
}

// tooMany answers 429 with Retry-After in whole seconds.
func tooMany(ctx *fasthttp.RequestCtx, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
	apierror.Writef(ctx, fasthttp.StatusTooManyRequests, "too_many_attempts",
		"too many failed attempts; retry in "+strconv.Itoa(max(secs, 1))+"s")
}

// throttled is the error of a login attempt that must wait, or whose
// limits could not be read (err).
func throttled(wait time.Duration, err error) error {
	if err != nil {
		return err
	}
	return &tooManyAttempts{wait}
}

// refuseCrossOrigin refuses (403) a browser request from another origin
// to an endpoint that needs no session.
func refuseCrossOrigin(rc *fasthttp.RequestCtx) error {
	if crossOrigin(rc) {
		return &forbidden{code: "cross_origin", msg: "request from another origin refused"}
	}
	return nil
}

func (a *API) login(ctx context.Context, rc *fasthttp.RequestCtx) error {
	if err := refuseCrossOrigin(rc); err != nil {
		return err
	}
	var in loginInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	now, ip := a.now(), a.clientIP(rc)
	if wait, err := a.logins.wait(ctx, in.Username, ip, now); err != nil || wait > 0 {
		return throttled(wait, err)
	}
	user, ok, err := a.checkPassword(ctx, rc, in.Username, in.Password)
	if err == nil && !ok {
		err = a.logins.failed(ctx, in.Username, ip, now)
	}
	if err != nil {
		return err
	}
	if !ok {
		return &unauthenticated{"invalid username or password"}
	}
	if err := a.logins.succeeded(ctx, in.Username, ip, now); err != nil {
		return err
	}
	a.upgradeHash(ctx, rc, user, in.Password)
	return a.startSession(ctx, rc, fasthttp.StatusOK, user)
}

// checkPassword reports whether password is that of the active user
// called username. Unknown and disabled users fail like a wrong password,
// and take about as long.
func (a *API) checkPassword(ctx context.Context, rc *fasthttp.RequestCtx, username, password string) (*models.AdminUser, bool, error) {
	var user *models.AdminUser
	stored := ""
	if validUsername(username) && len(password) <= maxPasswordBytes {
		u, err := a.db.AdminUserByName(ctx, username)
		switch {
		case err == nil:
			user, stored = u, u.PasswordHash
		case !errors.Is(err, models.ErrNotFound):
			return nil, false, err
		}
	}
	if len(password) > maxPasswordBytes {
		password = password[:maxPasswordBytes]
	}
	ok, err := a.hasher.verify(ctx, stored, password)
	if err != nil {
		return nil, false, err
	}
	if !ok || user == nil || user.Disabled {
		if user != nil {
			a.logger.Info("login failed", "username", user.Username, "disabled", user.Disabled,
				"client", a.clientIP(rc).String(), "request_id", apierror.RequestID(rc))
		} else {
			a.logger.Info("login failed: unknown user", "client", a.clientIP(rc).String(), "request_id", apierror.RequestID(rc))
		}
		return nil, false, nil
	}
	return user, true, nil
}

// upgradeHash stores a new hash of password when the user's was made with
// weaker parameters than the API's. A failure only postpones it.
func (a *API) upgradeHash(ctx context.Context, rc *fasthttp.RequestCtx, user *models.AdminUser, password string) {
	if !weakerThan(user.PasswordHash, a.hasher.params) {
		return
	}
	hash, err := a.hasher.hash(ctx, password)
	if err == nil {
		err = a.db.RehashAdminUserPassword(ctx, user.ID, user.PasswordHash, hash)
	}
	if err != nil {
		a.requestLog(rc).Warn("upgrade password hash", "username", user.Username, "err", err)
	}
}

// startSession creates a session for user and answers with its token,
// also set as the session cookie.
func (a *API) startSession(ctx context.Context, rc *fasthttp.RequestCtx, status int, user *models.AdminUser) error {
	token := newToken()
	now := a.now()
	s := &models.Session{
		UserID:     user.ID,
		TokenHash:  tokenHash(token),
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(SessionTTL),
		UserAgent:  cleanText(string(rc.UserAgent()), maxUserAgent),
		IP:         a.clientIP(rc).String(),
	}
	if err := a.db.CreateSession(ctx, s); err != nil {
		return err
	}
	a.logger.Info("logged in", "username", user.Username, "session", s.ID, "client", s.IP)
	a.setCookie(rc, token, s.ExpiresAt)
	rc.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	a.reply(rc, status, sessionView{Token: token, ExpiresAt: s.ExpiresAt, User: user})
	return nil
}

// maxUserAgent bounds the user agent kept with a session, in characters.
const maxUserAgent = 256

// cleanText makes a client-supplied header storable on every backend:
// valid UTF-8 (PostgreSQL refuses anything else), no control characters,
// at most n characters.
func cleanText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func (a *API) logout(ctx context.Context, rc *fasthttp.RequestCtx) error {
	if apiTokenOf(rc) != nil {
		return invalid("Authorization", "an API token is no session to log out of; revoke it with DELETE %s/tokens/{id}", Prefix)
	}
	s := sessionOf(rc)
	if err := a.db.DeleteSession(ctx, s.ID); err != nil {
		return err
	}
	a.setCookie(rc, "", time.Time{})
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

func (a *API) me(_ context.Context, rc *fasthttp.RequestCtx) error {
	s := sessionOf(rc)
	a.reply(rc, fasthttp.StatusOK, sessionView{ExpiresAt: s.ExpiresAt, User: s.User, APIToken: apiTokenOf(rc)})
	return nil
}

// setup creates the first admin user with a setup token and logs it in.
func (a *API) setup(ctx context.Context, rc *fasthttp.RequestCtx) error {
	if err := refuseCrossOrigin(rc); err != nil {
		return err
	}
	var in setupInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	now, ip := a.now(), a.clientIP(rc)
	if wait, err := a.logins.clientWait(ctx, ip, now); err != nil || wait > 0 {
		return throttled(wait, err)
	}
	if err := validateUser(in.Username, in.Password); err != nil {
		return err
	}
	hash := ""
	if wellFormedToken(in.Token) {
		hash = tokenHash(in.Token)
	}
	if ok, err := a.db.SetupTokenValid(ctx, hash, now); err != nil || !ok {
		if err == nil {
			err = a.logins.clientFailed(ctx, ip, now)
		}
		if err == nil {
			err = &forbidden{code: "invalid_setup_token", msg: "the setup token is unknown, expired or already used; restart the server while no admin exists for a new link"}
		}
		return err
	}
	pw, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		return err
	}
	user := &models.AdminUser{Username: in.Username, PasswordHash: pw, Role: models.RoleAdmin}
	err = a.db.SetupFirstAdminUser(ctx, hash, now, user)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return &forbidden{code: "invalid_setup_token", msg: "the setup token is unknown, expired or already used"}
	case errors.Is(err, models.ErrConflict):
		return &forbidden{code: "already_set_up", msg: "an admin user already exists; log in instead"}
	case err != nil:
		return err
	}
	a.logger.Info("first admin user created through the setup link", "username", user.Username)
	return a.startSession(ctx, rc, fasthttp.StatusCreated, user)
}
