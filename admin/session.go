package admin

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/models"
)

// Sessions.
const (
	// SessionCookie names the cookie that carries the session token for
	// the web UI over plain HTTP; API clients send the same token as a
	// bearer token.
	SessionCookie = "picloud_session"
	// SecureSessionCookie names it over HTTPS. Browsers keep a cookie
	// with the __Host- prefix only if it is Secure, has Path=/ and no
	// Domain: no other host (an app's sibling host included) can set or
	// shadow it.
	SecureSessionCookie = "__Host-" + SessionCookie
	// SessionTTL is how long a session lives past its last use.
	SessionTTL = 24 * time.Hour
	// sessionTouchEvery bounds how often a session's use is written: at
	// most once per this interval per session.
	sessionTouchEvery = time.Minute
	// cookiePath is "/", which the __Host- prefix demands. The cookie is
	// host-only and lives on the admin host, where no script answers.
	cookiePath = "/"
	// maxSessionCookies bounds the session cookies of one request that
	// are looked up: a browser holds one, plus any another host of the
	// same site tossed in (over plain HTTP only).
	maxSessionCookies = 4
	// sessionKey is the fasthttp user value holding the *models.Session of
	// an authenticated request.
	sessionKey = "picloud.admin_session"
)

// credential is the token a request presents and how: a bearer token,
// or the distinct values of the session cookie (several when another
// host of the site set one of the same name).
type credential struct {
	tokens   []string
	byCookie bool
}

// credentialOf finds the request's tokens: the Authorization header if
// present (it must then be a bearer token), else every session cookie.
func (a *API) credentialOf(ctx *fasthttp.RequestCtx) (credential, error) {
	if auth := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization); len(auth) > 0 {
		scheme, token, ok := bytes.Cut(auth, []byte(" "))
		if !ok || !bytes.EqualFold(scheme, []byte("Bearer")) {
			return credential{}, errors.New("the Authorization header must be \"Bearer TOKEN\"")
		}
		return credential{tokens: []string{string(bytes.TrimSpace(token))}}, nil
	}
	name := a.cookieName(ctx)
	var tokens []string
	for k, v := range ctx.Request.Header.Cookies() {
		if string(k) != name || len(v) == 0 || slices.Contains(tokens, string(v)) {
			continue
		}
		if len(tokens) == maxSessionCookies {
			return credential{}, errors.New("too many " + name + " cookies; clear this site's cookies and log in again")
		}
		tokens = append(tokens, string(v))
	}
	if len(tokens) == 0 {
		return credential{}, errors.New("no session: log in with POST " + Prefix + "/auth/login and send the token as \"Authorization: Bearer TOKEN\"")
	}
	return credential{tokens: tokens, byCookie: true}, nil
}

// unauthorized answers 401 with the JSON error.
func unauthorized(ctx *fasthttp.RequestCtx, message string) {
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="picloud"`)
	apierror.Writef(ctx, fasthttp.StatusUnauthorized, "unauthorized", message)
}

// RequireSession lets through a request with a valid session and answers
// any other 401 (or 403 for a cookie request from another origin). It is
// the guard of every admin endpoint but login and setup.
func (a *API) RequireSession(ctx *fasthttp.RequestCtx) bool {
	return a.require(ctx, false)
}

// RequireExecute guards /api/v1/execute/{id}, which runs a script and
// answers what the script answers, on the admin origin. Besides a valid
// session, a request authenticated by the cookie must be a fetch from
// the admin UI (Sec-Fetch-Dest: empty): never a navigation, a frame, a
// script, style or image load, so the script's answer reaches the UI's
// code as data and never becomes a document or a script of the admin
// origin. API clients send the bearer token.
func (a *API) RequireExecute(ctx *fasthttp.RequestCtx) bool {
	return a.require(ctx, true)
}

// require is RequireSession, and with fetchOnly RequireExecute.
func (a *API) require(ctx *fasthttp.RequestCtx, fetchOnly bool) bool {
	cred, err := a.credentialOf(ctx)
	if err != nil {
		unauthorized(ctx, err.Error())
		return false
	}
	if slices.ContainsFunc(cred.tokens, isAPIToken) {
		if cred.byCookie {
			unauthorized(ctx, "an API token is sent as \"Authorization: Bearer TOKEN\", never as a cookie")
			return false
		}
		return a.requireAPIToken(ctx, cred.tokens[0])
	}
	if cred.byCookie && fetchedFromElsewhere(ctx) {
		apierror.Writef(ctx, fasthttp.StatusForbidden, "cross_origin",
			"a request authenticated by cookie must come from the admin UI's own origin (Sec-Fetch-Site: "+
				string(ctx.Request.Header.Peek("Sec-Fetch-Site"))+")")
		return false
	}
	if cred.byCookie && fetchOnly && string(ctx.Request.Header.Peek("Sec-Fetch-Dest")) != "empty" {
		apierror.Writef(ctx, fasthttp.StatusForbidden, "not_a_fetch",
			"with the session cookie a script runs only from the admin UI (a fetch, Sec-Fetch-Dest: empty); "+
				"API clients send the token as \"Authorization: Bearer TOKEN\"")
		return false
	}
	dbctx, cancel := a.requestContext(ctx)
	defer cancel()
	s, why, err := a.findSession(dbctx, cred.tokens)
	switch {
	case err != nil:
		a.fail(ctx, err)
		return false
	case s == nil:
		unauthorized(ctx, why)
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
	a.touch(dbctx, ctx, s, cred.byCookie)
	ctx.SetUserValue(sessionKey, s.Session)
	return true
}

// touch moves the session's expiry out, at most once per
// sessionTouchEvery, and renews the cookie that carried it.
func (a *API) touch(ctx context.Context, rc *fasthttp.RequestCtx, s *foundSession, byCookie bool) {
	now := a.now()
	if now.Sub(s.LastUsedAt) < sessionTouchEvery {
		return
	}
	expires := now.Add(SessionTTL)
	if err := a.db.TouchSession(ctx, s.ID, now, expires); err != nil {
		// The session stays valid until its old expiry; not worth
		// failing the request over.
		a.logger.Warn("extend session", "request_id", apierror.RequestID(rc), "user", s.User.Username, "session", s.ID, "err", err)
		return
	}
	s.LastUsedAt, s.ExpiresAt = now, expires
	if byCookie {
		a.setCookie(rc, s.token, expires)
	}
}

// foundSession is a valid session and the token that named it.
type foundSession struct {
	*models.Session
	token string
}

// findSession returns the valid session among tokens, or nil and why
// none is. Several valid sessions of one user (an old cookie beside a
// new one) are one user: the most recently used wins. Sessions of
// different users are refused: one of the cookies was set by another
// host of the site, and taking either could put the admin on an
// attacker's session.
func (a *API) findSession(ctx context.Context, tokens []string) (*foundSession, string, error) {
	var found *foundSession
	why := "invalid session token"
	for _, token := range tokens {
		s, reason, err := a.lookupSession(ctx, token)
		switch {
		case err != nil:
			return nil, "", err
		case s == nil:
			why = reason
		case found == nil:
			found = &foundSession{s, token}
		case s.UserID != found.UserID:
			return nil, "the session cookies of more than one user were sent (one was set by another host of this site); " +
				"clear this site's cookies and log in again", nil
		case s.LastUsedAt.After(found.LastUsedAt):
			found = &foundSession{s, token}
		}
	}
	return found, why, nil
}

// lookupSession returns the session token names if it is valid now, or
// nil and why not.
func (a *API) lookupSession(ctx context.Context, token string) (*models.Session, string, error) {
	if !wellFormedToken(token) {
		return nil, "invalid session token", nil
	}
	s, err := a.db.SessionByTokenHash(ctx, tokenHash(token))
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, "invalid session token (logged out, revoked or never issued)", nil
	case err != nil:
		return nil, "", err
	case !a.now().Before(s.ExpiresAt):
		return nil, "session expired; log in again", nil
	case s.User.Disabled:
		return nil, "the user of this session is disabled", nil
	}
	return s, "", nil
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

// fetchedFromElsewhere reports whether the browser says another origin
// made the request: Sec-Fetch-Site "cross-site", or "same-site" (another
// host of the site, such as an app's {slug}.{base_domain}). "same-origin",
// "none" (typed or bookmarked) and no header (not a browser) pass; the
// Origin check covers requests that change state.
func fetchedFromElsewhere(ctx *fasthttp.RequestCtx) bool {
	site := string(ctx.Request.Header.Peek("Sec-Fetch-Site"))
	return site != "" && site != "same-origin" && site != "none"
}

// crossOrigin reports whether the request carries an Origin that is not
// this host, or was made by another origin by the browser's account:
// such a request is refused from the endpoints that need no session
// (login, setup).
func crossOrigin(ctx *fasthttp.RequestCtx) bool {
	return len(ctx.Request.Header.Peek("Origin")) > 0 && !sameOrigin(ctx) || fetchedFromElsewhere(ctx)
}

// secure reports whether the admin origin is reached over HTTPS.
func (a *API) secure(ctx *fasthttp.RequestCtx) bool { return a.secureCookie || ctx.IsTLS() }

// cookieName is the name of the session cookie on this request's origin.
func (a *API) cookieName(ctx *fasthttp.RequestCtx) string {
	if a.secure(ctx) {
		return SecureSessionCookie
	}
	return SessionCookie
}

// setCookie sets the session cookie in the strongest form the origin
// allows: HttpOnly, SameSite=Strict, host-only, Path=/, and over HTTPS
// Secure with the __Host- prefix.
func (a *API) setCookie(ctx *fasthttp.RequestCtx, token string, expires time.Time) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(a.cookieName(ctx))
	c.SetValue(token)
	c.SetPath(cookiePath)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetSecure(a.secure(ctx))
	if expires.IsZero() {
		c.SetExpire(fasthttp.CookieExpireDelete)
		c.SetMaxAge(-1)
	} else {
		c.SetExpire(expires)
	}
	ctx.Response.Header.SetCookie(c)
}
