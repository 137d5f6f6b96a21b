package admin

import (
	"bytes"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/models"
)

// Sessions.
const (
	// SessionCookie names the cookie that carries the session token for
	// the web UI; API clients send the same token as a bearer token.
	SessionCookie = "picloud_session"
	// SessionTTL is how long a session lives past its last use.
	SessionTTL = 24 * time.Hour
	// sessionTouchEvery bounds how often a session's use is written: at
	// most once per this interval per session.
	sessionTouchEvery = time.Minute
	// cookiePath limits the cookie to the API (admin and execute): the
	// pages of the UI are static and need none, and scripts, which are
	// never served under /api/, never see it.
	cookiePath = "/api/"
	// sessionKey is the fasthttp user value holding the *models.Session of
	// an authenticated request.
	sessionKey = "picloud.admin_session"
)

// credential is the token a request presents and how.
type credential struct {
	token    string
	byCookie bool
}

// credentialOf finds the request's token: the Authorization header if
// present (it must then be a bearer token), else the session cookie.
func credentialOf(ctx *fasthttp.RequestCtx) (credential, error) {
	if auth := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization); len(auth) > 0 {
		scheme, token, ok := bytes.Cut(auth, []byte(" "))
		if !ok || !bytes.EqualFold(scheme, []byte("Bearer")) {
			return credential{}, errors.New("the Authorization header must be \"Bearer TOKEN\"")
		}
		return credential{token: string(bytes.TrimSpace(token))}, nil
	}
	if c := ctx.Request.Header.Cookie(SessionCookie); len(c) > 0 {
		return credential{token: string(c), byCookie: true}, nil
	}
	return credential{}, errors.New("no session: log in with POST " + Prefix + "/auth/login and send the token as \"Authorization: Bearer TOKEN\"")
}

// unauthorized answers 401 with the JSON error.
func unauthorized(ctx *fasthttp.RequestCtx, message string) {
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="picloud"`)
	apierror.Writef(ctx, fasthttp.StatusUnauthorized, "unauthorized", message)
}

// RequireSession lets through a request with a valid session and answers
// any other 401 (or 403 for a cross-origin cookie request that changes
// state). It is the guard of every admin endpoint but login and setup,
// and of /api/v1/execute.
func (a *API) RequireSession(ctx *fasthttp.RequestCtx) bool {
	cred, err := credentialOf(ctx)
	if err != nil {
		unauthorized(ctx, err.Error())
		return false
	}
	if isAPIToken(cred.token) {
		if cred.byCookie {
			unauthorized(ctx, "an API token is sent as \"Authorization: Bearer TOKEN\", never as a cookie")
			return false
		}
		return a.requireAPIToken(ctx, cred.token)
	}
	if !wellFormedToken(cred.token) {
		unauthorized(ctx, "invalid session token")
		return false
	}
	s, err := a.db.SessionByTokenHash(detach(ctx), tokenHash(cred.token))
	switch {
	case errors.Is(err, models.ErrNotFound):
		unauthorized(ctx, "invalid session token (logged out, revoked or never issued)")
		return false
	case err != nil:
		a.fail(ctx, err)
		return false
	}
	now := a.now()
	if !now.Before(s.ExpiresAt) {
		unauthorized(ctx, "session expired; log in again")
		return false
	}
	if !a.userMayUseAPI(ctx, s.User) {
		return false
	}
	if cred.byCookie && changesState(ctx) && !sameOrigin(ctx) {
		apierror.Writef(ctx, fasthttp.StatusForbidden, "cross_origin",
			"a request authenticated by cookie that changes state must come from this origin (Origin or Referer)")
		return false
	}
	if now.Sub(s.LastUsedAt) >= sessionTouchEvery {
		expires := now.Add(SessionTTL)
		if err := a.db.TouchSession(detach(ctx), s.ID, now, expires); err != nil {
			// The session stays valid until its old expiry; not worth
			// failing the request over.
			a.logger.Warn("extend session", "session", s.ID, "err", err)
		} else {
			s.LastUsedAt, s.ExpiresAt = now, expires
			if cred.byCookie {
				a.setCookie(ctx, cred.token, expires)
			}
		}
	}
	ctx.SetUserValue(sessionKey, s)
	return true
}

// userMayUseAPI reports whether the user of a valid credential may use
// the admin API; if not, it has answered ctx.
func (a *API) userMayUseAPI(ctx *fasthttp.RequestCtx, u *models.AdminUser) bool {
	if u.Disabled {
		unauthorized(ctx, "the user "+strconv.Quote(u.Username)+" is disabled")
		return false
	}
	if u.Role != models.RoleAdmin {
		// Roles other than admin are for later; until then they grant
		// nothing.
		apierror.Writef(ctx, fasthttp.StatusForbidden, "forbidden", "role "+strconv.Quote(u.Role)+" has no access to the admin API")
		return false
	}
	return true
}

// isNotFound reports whether err says a looked-up row does not exist.
func isNotFound(err error) bool { return errors.Is(err, models.ErrNotFound) }

// sessionOf returns the session RequireSession stored on ctx.
func sessionOf(ctx *fasthttp.RequestCtx) *models.Session {
	s, _ := ctx.UserValue(sessionKey).(*models.Session)
	return s
}

// changesState reports whether the request's method may change state.
func changesState(ctx *fasthttp.RequestCtx) bool {
	return !ctx.IsGet() && !ctx.IsHead() && !ctx.IsOptions()
}

// sameOrigin reports whether the request's Origin (or, lacking one, its
// Referer) names the host the request was sent to. A request with
// neither is not known to be same-origin.
func sameOrigin(ctx *fasthttp.RequestCtx) bool {
	src := ctx.Request.Header.Peek("Origin")
	if len(src) == 0 {
		src = ctx.Request.Header.Referer()
	}
	if len(src) == 0 {
		return false
	}
	u, err := url.Parse(string(src))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return bytes.EqualFold([]byte(u.Host), ctx.Host())
}

// crossOrigin reports whether the request carries an Origin that is not
// this host: such a request is refused from the endpoints that need no
// session (login, setup).
func crossOrigin(ctx *fasthttp.RequestCtx) bool {
	return len(ctx.Request.Header.Peek("Origin")) > 0 && !sameOrigin(ctx)
}

// setCookie sets the session cookie: HttpOnly, SameSite=Strict, limited
// to the API paths, Secure when the server is reached over HTTPS.
func (a *API) setCookie(ctx *fasthttp.RequestCtx, token string, expires time.Time) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(SessionCookie)
	c.SetValue(token)
	c.SetPath(cookiePath)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetSecure(a.secureCookie || ctx.IsTLS())
	if expires.IsZero() {
		c.SetExpire(fasthttp.CookieExpireDelete)
		c.SetMaxAge(-1)
	} else {
		c.SetExpire(expires)
	}
	ctx.Response.Header.SetCookie(c)
}
