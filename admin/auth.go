package admin

import (
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

// throttled answers a login attempt that must wait, or whose limits
// could not be read (err).
func (a *API) throttled(ctx *fasthttp.RequestCtx, wait time.Duration, err error) {
	if err != nil {
		a.fail(ctx, err)
		return
	}
	tooMany(ctx, wait)
}

// refuseCrossOrigin answers 403 for a browser request from another
// origin to an endpoint that needs no session.
func refuseCrossOrigin(ctx *fasthttp.RequestCtx) bool {
	if !crossOrigin(ctx) {
		return false
	}
	apierror.Writef(ctx, fasthttp.StatusForbidden, "cross_origin", "request from another origin refused")
	return true
}

func (a *API) login(ctx *fasthttp.RequestCtx) {
	if refuseCrossOrigin(ctx) {
		return
	}
	var in loginInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	now, ip := a.now(), ctx.RemoteIP()
	if wait, err := a.logins.wait(detach(ctx), in.Username, ip, now); err != nil || wait > 0 {
		a.throttled(ctx, wait, err)
		return
	}
	user, ok, err := a.checkPassword(ctx, in.Username, in.Password)
	if err == nil && !ok {
		err = a.logins.failed(detach(ctx), in.Username, ip, now)
	}
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if !ok {
		unauthorized(ctx, "invalid username or password")
		return
	}
	if err := a.logins.succeeded(detach(ctx), in.Username, ip, now); err != nil {
		a.fail(ctx, err)
		return
	}
	a.upgradeHash(ctx, user, in.Password)
	a.startSession(ctx, fasthttp.StatusOK, user)
}

// checkPassword reports whether password is that of the active user
// called username. Unknown and disabled users fail like a wrong password,
// and take about as long.
func (a *API) checkPassword(ctx *fasthttp.RequestCtx, username, password string) (*models.AdminUser, bool, error) {
	var user *models.AdminUser
	stored := ""
	if validUsername(username) && len(password) <= maxPasswordBytes {
		u, err := a.db.AdminUserByName(detach(ctx), username)
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
				"client", ctx.RemoteIP().String(), "request_id", apierror.RequestID(ctx))
		} else {
			a.logger.Info("login failed: unknown user", "client", ctx.RemoteIP().String(), "request_id", apierror.RequestID(ctx))
		}
		return nil, false, nil
	}
	return user, true, nil
}

// upgradeHash stores a new hash of password when the user's was made with
// weaker parameters than the API's. A failure only postpones it.
func (a *API) upgradeHash(ctx *fasthttp.RequestCtx, user *models.AdminUser, password string) {
	if !weakerThan(user.PasswordHash, a.hasher.params) {
		return
	}
	hash, err := a.hasher.hash(ctx, password)
	if err == nil {
		err = a.db.RehashAdminUserPassword(detach(ctx), user.ID, user.PasswordHash, hash)
	}
	if err != nil {
		a.logger.Warn("upgrade password hash", "user", user.ID, "err", err)
	}
}

// startSession creates a session for user and answers with its token,
// also set as the session cookie.
func (a *API) startSession(ctx *fasthttp.RequestCtx, status int, user *models.AdminUser) {
	token := newToken()
	now := a.now()
	s := &models.Session{
		UserID:     user.ID,
		TokenHash:  tokenHash(token),
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(SessionTTL),
		UserAgent:  cleanText(string(ctx.UserAgent()), maxUserAgent),
		IP:         ctx.RemoteIP().String(),
	}
	if err := a.db.CreateSession(detach(ctx), s); err != nil {
		a.fail(ctx, err)
		return
	}
	a.logger.Info("logged in", "username", user.Username, "session", s.ID, "client", s.IP)
	a.setCookie(ctx, token, s.ExpiresAt)
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	a.reply(ctx, status, sessionView{Token: token, ExpiresAt: s.ExpiresAt, User: user})
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

func (a *API) logout(ctx *fasthttp.RequestCtx) {
	if apiTokenOf(ctx) != nil {
		a.fail(ctx, invalid("Authorization", "an API token is no session to log out of; revoke it with DELETE %s/tokens/{id}", Prefix))
		return
	}
	s := sessionOf(ctx)
	if err := a.db.DeleteSession(detach(ctx), s.ID); err != nil {
		a.fail(ctx, err)
		return
	}
	a.setCookie(ctx, "", time.Time{})
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func (a *API) me(ctx *fasthttp.RequestCtx) {
	s := sessionOf(ctx)
	a.reply(ctx, fasthttp.StatusOK, sessionView{ExpiresAt: s.ExpiresAt, User: s.User, APIToken: apiTokenOf(ctx)})
}

// setup creates the first admin user with a setup token and logs it in.
func (a *API) setup(ctx *fasthttp.RequestCtx) {
	if refuseCrossOrigin(ctx) {
		return
	}
	var in setupInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	now, ip := a.now(), ctx.RemoteIP()
	if wait, err := a.logins.clientWait(detach(ctx), ip, now); err != nil || wait > 0 {
		a.throttled(ctx, wait, err)
		return
	}
	if err := validateUser(in.Username, in.Password); err != nil {
		a.fail(ctx, err)
		return
	}
	hash := ""
	if wellFormedToken(in.Token) {
		hash = tokenHash(in.Token)
	}
	if ok, err := a.db.SetupTokenValid(detach(ctx), hash, now); err != nil || !ok {
		if err == nil {
			err = a.logins.clientFailed(detach(ctx), ip, now)
		}
		if err == nil {
			err = &forbidden{code: "invalid_setup_token", msg: "the setup token is unknown, expired or already used; restart the server while no admin exists for a new link"}
		}
		a.fail(ctx, err)
		return
	}
	pw, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	user := &models.AdminUser{Username: in.Username, PasswordHash: pw, Role: models.RoleAdmin}
	err = a.db.SetupFirstAdminUser(detach(ctx), hash, now, user)
	switch {
	case errors.Is(err, models.ErrNotFound):
		a.fail(ctx, &forbidden{code: "invalid_setup_token", msg: "the setup token is unknown, expired or already used"})
		return
	case errors.Is(err, models.ErrConflict):
		a.fail(ctx, &forbidden{code: "already_set_up", msg: "an admin user already exists; log in instead"})
		return
	case err != nil:
		a.fail(ctx, err)
		return
	}
	a.logger.Info("first admin user created through the setup link", "username", user.Username)
	a.startSession(ctx, fasthttp.StatusCreated, user)
}
