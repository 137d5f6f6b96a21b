package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/internal/clientip"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/secrets"
)

// Prefix is where the admin API is mounted.
const Prefix = "/api/v1/admin"

// Deployer makes stored changes live. AppChanged is called after every
// committed change to an app's scripts or routes. AppStatus asks the
// app's router for the runtime state of the live version of each script
// it holds (parked scripts, crash counts).
type Deployer interface {
	AppChanged(ctx context.Context, appID int64) error
	AppStatus(ctx context.Context, appID int64) ([]ScriptState, error)
}

// Options configure the API.
type Options struct {
	DB       *models.DB
	Deployer Deployer
	Logger   *slog.Logger
	// Config is what GET /config shows: the effective configuration with
	// secrets already removed.
	Config any
	// Now is the clock of sessions, setup tokens and rate limits; nil
	// means time.Now. Only tests set it.
	Now func() time.Time
	// Argon2 are the parameters of new password hashes; the zero value
	// means DefaultArgon2Params. Only tests set cheaper ones.
	Argon2 Argon2Params
	// SecureCookie marks the session cookie Secure; set it when users
	// reach the server over HTTPS (behind a proxy that ends TLS, too).
	SecureCookie bool
	// BaseDomain is server.base_domain: the hosts {slug}.{BaseDomain}
	// belong to the apps and cannot be claimed.
	BaseDomain string
	// MaxRequestBody is server.max_request_body, the most an app's own
	// limit may be.
	MaxRequestBody int64
	// RequestTimeout bounds the work of one request (its database calls
	// included); zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Checker checks every source before it is stored; without one every
	// upload fails.
	Checker SourceChecker
	// AdminHost is the host the admin API and UI answer on (lower case,
	// no port): no domain claim may cover it, and when it is
	// {label}.{BaseDomain} no app may take the slug label.
	AdminHost string
	// Cluster is the member table of GET /cluster; nil when cluster mode
	// is off.
	Cluster ClusterInfo
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (server.trusted_proxies): login limits and logs count
	// that address. The zero value trusts none.
	TrustedProxies clientip.Trusted
	// KVQuota is the default quota of an app's key-value storage.
	KVQuota models.KVQuota
	// Secrets stores apps' secrets; nil answers the secrets endpoints 503.
	Secrets *secrets.Store
	// Scheduler, when set, is woken after a schedule changes.
	Scheduler interface{ Wake() }
	// Node is this server's node name: the status endpoint says which
	// node answered (parking is per node).
	Node string
}

// API is the admin API handler.
type API struct {
	db       *models.DB
	deployer Deployer
	logger   *slog.Logger
	config   any
	cluster  ClusterInfo
	router   *router.Router
	now      func() time.Time
	hasher   *hasher
	// logins throttles failed logins (see login_throttle.go).
	logins       *loginThrottle
	secureCookie bool
	// baseDomain and maxRequestBody: see Options.
	baseDomain     string
	maxRequestBody int64
	requestTimeout time.Duration
	// streams ends the invocation streams when the server stops.
	streams *streamHub
	checker SourceChecker
	// adminHost: see Options; reservedSlug is the slug whose
	// {slug}.{base_domain} is the admin host, or "".
	adminHost    string
	reservedSlug string
	proxies      clientip.Trusted
	// The capabilities of scripts (SDK v2): see Options.
	kvQuota   models.KVQuota
	secrets   *secrets.Store
	scheduler interface{ Wake() }
	// node is this server's node name (Options.Node).
	node string
}

// New builds the API.
func New(opts Options) *API {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Argon2 == (Argon2Params{}) {
		opts.Argon2 = DefaultArgon2Params()
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	a := &API{
		db:             opts.DB,
		deployer:       opts.Deployer,
		logger:         opts.Logger,
		config:         opts.Config,
		cluster:        opts.Cluster,
		node:           opts.Node,
		router:         router.New(),
		now:            opts.Now,
		hasher:         newHasher(opts.Argon2, concurrentHashes),
		logins:         newLoginThrottle(dbAttempts{db: opts.DB}),
		secureCookie:   opts.SecureCookie,
		baseDomain:     opts.BaseDomain,
		maxRequestBody: opts.MaxRequestBody,
		requestTimeout: opts.RequestTimeout,
		streams:        newStreamHub(),
		checker:        opts.Checker,
		adminHost:      opts.AdminHost,
		reservedSlug:   reservedSlug(opts.AdminHost, opts.BaseDomain),
		proxies:        opts.TrustedProxies,
		kvQuota:        opts.KVQuota,
		secrets:        opts.Secrets,
		scheduler:      opts.Scheduler,
	}
	a.router.RedirectTrailingSlash = false
	a.router.NotFound = func(ctx *fasthttp.RequestCtx) {
		apierror.Writef(ctx, fasthttp.StatusNotFound, "not_found", "no admin endpoint "+string(ctx.Method())+" "+string(ctx.Path()))
	}
	a.router.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		apierror.Writef(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", string(ctx.Method())+" is not allowed on "+string(ctx.Path()))
	}
	a.router.PanicHandler = func(ctx *fasthttp.RequestCtx, v any) {
		a.requestLog(ctx).Error("admin handler panicked", "panic", v)
		apierror.Writef(ctx, fasthttp.StatusInternalServerError, "internal", "internal error")
	}
	a.routes(a.router.Group(Prefix))
	return a
}

func (a *API) routes(g *router.Group) {
	g.POST("/auth/login", a.handle(a.login))
	g.POST("/auth/setup", a.handle(a.setup))
	g.POST("/auth/logout", a.handle(a.logout))
	g.GET("/auth/me", a.handle(a.me))
	g.GET("/users", a.handle(a.listUsers))
	g.POST("/users", a.handle(a.createUser))
	g.GET("/users/{id}", a.handle(a.getUser))
	g.PATCH("/users/{id}", a.handle(a.patchUser))
	g.DELETE("/users/{id}", a.handle(a.deleteUser))
	g.PUT("/users/{id}/password", a.handle(a.setPassword))
	g.GET("/apps", a.handle(a.listApps))
	g.POST("/apps", a.handle(a.createApp))
	g.GET("/apps/{app}", a.handle(a.getApp))
	g.PATCH("/apps/{app}", a.handle(a.patchApp))
	g.DELETE("/apps/{app}", a.handle(a.deleteApp))
	g.GET("/apps/{app}/domains", a.handle(a.listDomains))
	g.POST("/apps/{app}/domains", a.handle(a.createDomain))
	g.DELETE("/apps/{app}/domains/{id}", a.handle(a.deleteDomain))
	g.GET("/apps/{app}/routes", a.handle(a.listAppRoutes))
	g.POST("/apps/{app}/routes/check", a.handle(a.checkRoute))
	g.POST("/apps/{app}/routes/match", a.handle(a.matchRoute))
	g.GET("/apps/{app}/scripts", a.handle(a.listScripts))
	g.POST("/apps/{app}/scripts", a.handle(a.createScript))
	g.GET("/apps/{app}/scripts/{id}/status", a.handle(a.getScriptStatus))
	g.PUT("/apps/{app}/scripts/by-name/{name}", a.handle(a.putScriptByName))
	g.GET("/scripts/{id}", a.handle(a.getScript))
	g.PUT("/scripts/{id}", a.handle(a.updateScript))
	g.PATCH("/scripts/{id}", a.handle(a.patchScript))
	g.DELETE("/scripts/{id}", a.handle(a.deleteScript))
	g.GET("/scripts/{id}/versions", a.handle(a.listVersions))
	g.POST("/scripts/{id}/rollback", a.handle(a.rollbackScript))
	g.GET("/scripts/{id}/routes", a.handle(a.listRoutes))
	g.POST("/scripts/{id}/routes", a.handle(a.createRoute))
	g.DELETE("/routes/{id}", a.handle(a.deleteRoute))
	g.GET("/invocations", a.handle(a.listInvocations))
	g.GET("/invocations/per-minute", a.handle(a.invocationsPerMinute))
	g.GET("/invocations/{request_id}", a.handle(a.getInvocation))
	g.GET("/config", a.handle(a.getConfig))

	// What scripts reach through SDK v2: key-value storage, secrets and
	// schedules (kv.go, secrets.go, schedules.go).
	g.GET("/apps/{app}/kv", a.handle(a.listKV))
	g.GET("/apps/{app}/kv/{key:*}", a.handle(a.getKV))
	g.PUT("/apps/{app}/kv/{key:*}", a.handle(a.putKV))
	g.DELETE("/apps/{app}/kv/{key:*}", a.handle(a.deleteKV))
	g.GET("/apps/{app}/secrets", a.handle(a.listSecrets))
	g.PUT("/apps/{app}/secrets/{name}", a.handle(a.putSecret))
	g.DELETE("/apps/{app}/secrets/{name}", a.handle(a.deleteSecret))
	g.GET("/scripts/{id}/schedules", a.handle(a.listSchedules))
	g.POST("/scripts/{id}/schedules", a.handle(a.createSchedule))
	g.PATCH("/scripts/{id}/schedules/{schedule}", a.handle(a.updateSchedule))
	g.DELETE("/scripts/{id}/schedules/{schedule}", a.handle(a.deleteSchedule))

	// API tokens and the live invocation log (the CLI's endpoints).
	g.GET("/tokens", a.handle(a.listTokens))
	g.POST("/tokens", a.handle(a.createToken))
	g.DELETE("/tokens/{id}", a.handle(a.revokeToken))
	g.GET("/invocations/stream", a.handle(a.streamInvocations))

	// Cluster mode.
	g.GET("/cluster", a.handle(a.getCluster))

	// Overview figures (stats.go).
	g.GET("/stats", a.handle(a.getStats))
	g.GET("/apps/{app}/stats", a.handle(a.getAppStats))
}

// Handler serves requests under Prefix. Every endpoint needs a valid
// session except the two that make one: login and setup.
func (a *API) Handler(ctx *fasthttp.RequestCtx) {
	if !isPublic(ctx) && !a.RequireSession(ctx) {
		return
	}
	a.router.Handler(ctx)
}

// isPublic reports whether the request is for an endpoint that needs no
// session.
func isPublic(ctx *fasthttp.RequestCtx) bool {
	if !ctx.IsPost() {
		return false
	}
	switch string(ctx.Path()) {
	case Prefix + "/auth/login", Prefix + "/auth/setup":
		return true
	}
	return false
}

// fieldError is bad input in one field of a request.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func invalid(field, format string, args ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

// fail answers ctx for err: the one place that maps errors to statuses.
func (a *API) fail(ctx *fasthttp.RequestCtx, err error) {
	var fe *fieldError
	var ce *sandbox.CompileError
	var je *jsonError
	var fb *forbidden
	var ua *unauthenticated
	var tm *tooManyAttempts
	switch {
	case errors.As(err, &je):
		apierror.Write(ctx, fasthttp.StatusBadRequest, apierror.Error{Code: "invalid_json", Message: je.Error()})
	case errors.As(err, &fe):
		apierror.Write(ctx, fasthttp.StatusBadRequest, apierror.Error{Code: "invalid_input", Field: fe.field, Message: fe.Error()})
	case errors.As(err, &ce):
		apierror.Write(ctx, fasthttp.StatusUnprocessableEntity, apierror.Error{
			Code: "compile_error", Field: "source", Message: ce.Error(), Line: ce.Line, Column: ce.Column,
		})
	case errors.Is(err, sandbox.ErrSourceTooLarge):
		apierror.Write(ctx, fasthttp.StatusRequestEntityTooLarge, apierror.Error{Code: "source_too_large", Field: "source", Message: err.Error()})
	case errors.Is(err, sandbox.ErrCheckLimit):
		apierror.Write(ctx, fasthttp.StatusUnprocessableEntity, apierror.Error{Code: "check_limit", Field: "source", Message: err.Error()})
	case errors.Is(err, sandbox.ErrCheckBusy):
		ctx.Response.Header.Set("Retry-After", "1")
		apierror.Writef(ctx, fasthttp.StatusServiceUnavailable, "busy", err.Error())
	case errors.Is(err, models.ErrNotFound):
		apierror.Writef(ctx, fasthttp.StatusNotFound, "not_found", err.Error())
	case errors.As(err, &fb):
		apierror.Writef(ctx, fasthttp.StatusForbidden, fb.code, fb.msg)
	case errors.As(err, &ua):
		unauthorized(ctx, ua.msg)
	case errors.As(err, &tm):
		tooMany(ctx, tm.wait)
	case errors.Is(err, models.ErrConflict):
		apierror.Writef(ctx, fasthttp.StatusConflict, "conflict", err.Error())
	case errors.Is(err, models.ErrKVInvalid), errors.Is(err, secrets.ErrInvalidValue):
		apierror.Write(ctx, fasthttp.StatusBadRequest, apierror.Error{Code: "invalid_input", Message: err.Error()})
	case errors.Is(err, models.ErrKVQuota):
		apierror.Writef(ctx, fasthttp.StatusUnprocessableEntity, "kv_quota_exceeded", err.Error())
	case errors.Is(err, errNoSecretStore):
		apierror.Writef(ctx, fasthttp.StatusServiceUnavailable, "unavailable", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		a.requestLog(ctx).Error("admin request timed out", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
		apierror.Writef(ctx, fasthttp.StatusServiceUnavailable, "timeout", "the request took longer than "+a.requestTimeout.String()+"; try again")
	default:
		a.requestLog(ctx).Error("admin request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
		apierror.Writef(ctx, fasthttp.StatusInternalServerError, "internal", "internal error; see the server log for request "+apierror.RequestID(ctx))
	}
}

// deployed tells the control plane about a committed change. The change
// is stored either way; a failure to make it live is logged and reported.
func (a *API) deployed(ctx context.Context, appID int64) error {
	if err := a.deployer.AppChanged(ctx, appID); err != nil {
		return fmt.Errorf("change saved but not yet live: %w", err)
	}
	return nil
}

// forbidden is a request the caller may not make; it answers 403.
type forbidden struct{ code, msg string }

func (e *forbidden) Error() string { return e.msg }

// unauthenticated is a request without a valid credential; it answers
// 401.
type unauthenticated struct{ msg string }

func (e *unauthenticated) Error() string { return e.msg }

// tooManyAttempts is a login attempt that must wait; it answers 429 with
// Retry-After.
type tooManyAttempts struct{ wait time.Duration }

func (e *tooManyAttempts) Error() string {
	return "too many failed attempts; retry in " + e.wait.String()
}

// jsonError is a request body that is not the JSON the endpoint takes.
type jsonError struct{ err error }

func (e *jsonError) Error() string { return "request body: " + e.err.Error() }

// decode reads the JSON body into v, refusing unknown fields and trailing
// data.
func decode(ctx *fasthttp.RequestCtx, v any) error {
	body := ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return &jsonError{errors.New("empty; expected a JSON object")}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &jsonError{err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &jsonError{errors.New("unexpected data after the JSON object")}
	}
	return nil
}

// reply writes v as JSON with status.
func (a *API) reply(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.fail(ctx, fmt.Errorf("encode response: %w", err))
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(b)
}

// idParam reads a positive integer path parameter.
func idParam(ctx *fasthttp.RequestCtx, name string) (int64, error) {
	s, _ := ctx.UserValue(name).(string)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid(name, "must be a positive integer, got %q", s)
	}
	return id, nil
}

// list wraps a slice so that an empty result is [] rather than null.
func list[T any](items []T) map[string]any {
	if items == nil {
		items = []T{}
	}
	return map[string]any{"items": items}
}

func (a *API) getConfig(_ context.Context, rc *fasthttp.RequestCtx) error {
	a.reply(rc, fasthttp.StatusOK, a.config)
	return nil
}
