package ingress

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/apierror"
)

// Sender delivers a message to an actor without waiting for an answer.
type Sender interface {
	Send(pid *actor.PID, msg any)
}

// Recorder takes invocation records off the request path. Add must not
// block.
type Recorder interface {
	Add(inv Invocation)
}

// Options configure a Server.
type Options struct {
	Version string
	// SDKVersion is the script SDK's version /version reports; ingress
	// never imports the sandbox, so the composition root says it.
	SDKVersion    string
	PublicBaseURL string
	// Timeout is how long ingress waits for a script's answer before it
	// gives up with 504; the executor's own budget should end it first.
	Timeout time.Duration
	// Admin serves /api/v1/admin/*; UI serves /admin/*; Execute guards
	// /api/v1/execute/*. Each may be nil (then 404 / open). A script run
	// through execute never sees the caller's Authorization header or
	// cookies: they are the guard's, not the script's.
	Admin   fasthttp.RequestHandler
	UI      fasthttp.RequestHandler
	Execute func(ctx *fasthttp.RequestCtx) bool
	// Ready answers /readyz (see ready.go) on every host; OpenAPI serves
	// the admin API's description at /api/v1/openapi.json on the admin
	// host. Either may be nil.
	Ready   ReadyFunc
	OpenAPI fasthttp.RequestHandler
	// AdminHost is the only host Admin, UI, Execute and OpenAPI answer on,
	// and one no app answers (see origin.go); "" serves them nowhere.
	AdminHost string
	// SessionCookie is the name of the admin session cookie, which no
	// script may set.
	SessionCookie string
	// PublicErrors shows every caller the details of a failed call; by
	// default only calls through Execute (admin calls) get them, and
	// public callers a generic message (see errors.go).
	PublicErrors bool
	// NoScripts, when set, is why this node runs no script for a caller
	// (a cluster node without the ingress role): app hosts and
	// /api/v1/execute are answered 421 no_ingress_role with it, while
	// /healthz, /readyz, /version and the admin host serve as ever.
	NoScripts string
}

// codeNoIngress is the error code of script traffic sent to a node that
// serves none (Options.NoScripts).
const codeNoIngress = "no_ingress_role"

// refuseScripts answers a request for a script on a node that runs none
// for callers, and reports whether it did.
func (s *Server) refuseScripts(ctx *fasthttp.RequestCtx) bool {
	if s.opts.NoScripts == "" {
		return false
	}
	apierror.Writef(ctx, fasthttp.StatusMisdirectedRequest, codeNoIngress, s.opts.NoScripts)
	return true
}

// Server is the ingress handler. Its Table is swapped by the control plane.
type Server struct {
	opts     Options
	sender   Sender
	recorder Recorder
	logger   *slog.Logger
	table    atomic.Pointer[Table]
	ids      *requestIDs
	version  []byte
	metrics  *metrics
	bodies   *bodyBudget
	timers   timerPool
}

// New returns a Server with an empty Table.
func New(opts Options, sender Sender, recorder Recorder, logger *slog.Logger) *Server {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	s := &Server{
		opts:     opts,
		sender:   sender,
		recorder: recorder,
		logger:   logger,
		ids:      newRequestIDs(),
		metrics:  newMetrics(),
		bodies:   newBodyBudget(DefaultResponseMemory),
	}
	s.version, _ = json.Marshal(map[string]string{
		"version":         opts.Version,
		"api":             "v1",
		"sdk":             opts.SDKVersion,
		"public_base_url": opts.PublicBaseURL,
	})
	s.table.Store(NewTable(nil, nil, ""))
	return s
}

// SetTable swaps in a new snapshot of the apps.
func (s *Server) SetTable(t *Table) { s.table.Store(t) }

// Registry is the Prometheus registry MetricsHandler serves; other parts of
// the server may register their collectors on it.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

const (
	prefixAdminAPI = "/api/v1/admin"
	prefixExecute  = "/api/v1/execute/"
	prefixAPI      = "/api/"
	prefixUI       = "/admin"
)

// Handler is the fasthttp entry point.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	id := s.ids.next()
	ctx.SetUserValue(apierror.RequestIDKey, id)
	ctx.Response.Header.Set("X-Request-Id", id)

	path := ctx.Path()
	switch {
	case string(path) == "/healthz":
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok")
	case string(path) == "/readyz":
		s.serveReady(ctx)
	case string(path) == "/version":
		ctx.SetContentType("application/json")
		ctx.SetBody(s.version)
	case s.isAdminHost(ctx.Host()):
		s.serveAdminHost(ctx, id)
	case string(path) == "/metrics", hasPathPrefix(path, "/api"), hasPathPrefix(path, prefixUI):
		notOnThisHost(ctx, path)
	default:
		s.dispatch(ctx, id)
	}
	// Whatever a handler set, the id is the one ingress assigned.
	ctx.Response.Header.Set("X-Request-Id", id)
}

// hasPathPrefix reports whether path is prefix or lies below it.
func hasPathPrefix(path []byte, prefix string) bool {
	if !bytes.HasPrefix(path, []byte(prefix)) {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

func (s *Server) serveOr404(ctx *fasthttp.RequestCtx, h fasthttp.RequestHandler) {
	if h == nil {
		apierror.Writef(ctx, fasthttp.StatusNotFound, "not_found", "not available on this server")
		return
	}
	h(ctx)
}

// dispatch sends a request to the router of the app that serves its
// host, or redirects a former slug of an app to its current one.
func (s *Server) dispatch(ctx *fasthttp.RequestCtx, id string) {
	if s.refuseScripts(ctx) {
		return
	}
	res := s.table.Load().Resolve(ctx.Host())
	switch {
	case res.App == nil:
		apierror.Writef(ctx, fasthttp.StatusNotFound, "not_found", "no app serves host "+strconv.Quote(string(ctx.Host())))
	case res.Redirect != "":
		redirectHost(ctx, res.Redirect)
	default:
		s.invoke(ctx, res.App, 0, string(ctx.Path()), id, res.DomainParams)
	}
}

// redirectHost answers 308 with the same request on host (keeping the
// request's port, path and query).
func redirectHost(ctx *fasthttp.RequestCtx, host string) {
	scheme := "http://"
	if ctx.IsTLS() {
		scheme = "https://"
	}
	port := ""
	if h := ctx.Host(); bytes.IndexByte(h, ']') < 0 {
		if i := bytes.LastIndexByte(h, ':'); i >= 0 {
			port = string(h[i:])
		}
	}
	ctx.Response.Header.Set("Location", scheme+host+port+string(ctx.RequestURI()))
	apierror.Writef(ctx, fasthttp.StatusPermanentRedirect, "moved", "this app is now at "+host)
}

// execute runs a script by id: /api/v1/execute/{id}[/rest], the script
// seeing "/rest" (or "/") as its path.
func (s *Server) execute(ctx *fasthttp.RequestCtx, id string) {
	if s.refuseScripts(ctx) {
		return
	}
	if s.opts.Execute != nil && !s.opts.Execute(ctx) {
		return
	}
	ctx.Request.Header.Del(fasthttp.HeaderAuthorization)
	ctx.Request.Header.DelAllCookies()
	ctx.SetUserValue(errorDetailsKey{}, true)
	rest := ctx.Path()[len(prefixExecute):]
	idPart, path := rest, []byte("/")
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		idPart, path = rest[:i], rest[i:]
	}
	scriptID, err := strconv.ParseInt(string(idPart), 10, 64)
	if err != nil || scriptID <= 0 {
		apierror.Write(ctx, fasthttp.StatusBadRequest, apierror.Error{
			Code: "invalid_script_id", Field: "script_id",
			Message: "script id must be a positive integer, got " + strconv.Quote(string(idPart)),
		})
		return
	}
	app := s.table.Load().ForScript(scriptID)
	if app == nil {
		apierror.Writef(ctx, fasthttp.StatusNotFound, "not_found", "no script "+strconv.FormatInt(scriptID, 10))
		return
	}
	s.invoke(ctx, app, scriptID, string(path), id, nil)
}

func (s *Server) invoke(ctx *fasthttp.RequestCtx, app *App, scriptID int64, path, id string, params map[string]string) {
	start := time.Now()
	if app.MaxRequestBody > 0 && int64(len(ctx.PostBody())) > app.MaxRequestBody {
		apierror.Writef(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large",
			"request body of "+strconv.Itoa(len(ctx.PostBody()))+" bytes; app "+strconv.Quote(app.Slug)+
				" takes at most "+strconv.FormatInt(app.MaxRequestBody, 10))
		return
	}
	// One allocation for the request, its Invoke and its reply slot: none
	// is reused, for a late answer (after the wait below gave up) must
	// never reach another request.
	c := &call{reply: actors.MakeReply()}
	c.req = actors.Request{
		Method:       methodString(ctx.Method()),
		Path:         path,
		Host:         string(ctx.Host()),
		RawQuery:     string(ctx.URI().QueryString()),
		RequestID:    id,
		Headers:      requestHeaders(&ctx.Request.Header),
		DomainParams: params,
	}
	req := &c.req
	if body := ctx.PostBody(); len(body) > 0 {
		req.Body = append([]byte(nil), body...)
	}
	c.inv = actors.Invoke{Request: req, ScriptID: scriptID, Reply: &c.reply}
	s.sender.Send(app.Router, &c.inv)

	wait := s.opts.Timeout
	if app.Wait > 0 {
		wait = app.Wait
	}
	timer := s.timers.acquire(wait)
	var res actors.Result
	select {
	case res = <-c.reply.C():
	case <-timer.C:
		res = actors.Result{ErrCode: actors.CodeTimeout, ErrMessage: "no answer from the script within " + wait.String()}
	}
	s.timers.release(timer)
	notes := s.respond(ctx, app, &res)
	// scriptID is set only for execute, which is served on the admin host.
	if note := s.filterScriptCookies(ctx, scriptID != 0); note != "" {
		res.Output = appendNote(res.Output, note)
		s.logger.Warn(note, "app", app.Slug, "request_id", id)
	}
	elapsed := time.Since(start)
	s.metrics.observe(ctx.Response.StatusCode(), elapsed)
	s.record(app, req, &res, ctx.Response.StatusCode(), elapsed, notes)
}

// retryAfter is d as a Retry-After header: whole seconds, rounded up, at
// least 1.
func retryAfter(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

// statusOf decides the HTTP status of a Result that is an error: the one
// place that maps executor outcomes to HTTP.
func statusOf(code string) int {
	switch code {
	case actors.CodeNotFound:
		return fasthttp.StatusNotFound
	case actors.CodeMethodNotAllowed:
		return fasthttp.StatusMethodNotAllowed
	case actors.CodeTimeout:
		return fasthttp.StatusGatewayTimeout
	case actors.CodeSaturated, actors.CodeParked, actors.CodeUnavailable, actors.CodeNoExecutor:
		return fasthttp.StatusServiceUnavailable
	case actors.CodeCrashed, actors.CodeExecutorLost:
		return fasthttp.StatusBadGateway
	default:
		return fasthttp.StatusInternalServerError
	}
}

// codeInvalidStatus is the error code of a script response whose status
// is outside 200-599.
const codeInvalidStatus = "invalid_status"

// validStatus reports whether a script may answer with status: a final
// status (no 1xx, which changes what the connection carries) that HTTP
// defines (no 0, negative or 600+).
func validStatus(status int) bool { return status >= 200 && status <= 599 }

// respond writes res to ctx. A script response it refuses becomes an
// error result, so record logs why; notes say what it dropped from a
// response it sent.
func (s *Server) respond(ctx *fasthttp.RequestCtx, app *App, res *actors.Result) (notes []string) {
	if res.ErrCode != "" {
		status := statusOf(res.ErrCode)
		if status == fasthttp.StatusServiceUnavailable {
			ctx.Response.Header.Set("Retry-After", retryAfter(res.RetryAfter))
		}
		setErrorHeaders(&ctx.Response.Header, res)
		apierror.Writef(ctx, status, res.ErrCode, s.errorMessage(ctx, app, res))
		return nil
	}
	if !validStatus(res.Status) {
		// A 1xx would leave the client (or a proxy) reading the
		// connection as something else than this response: 101 makes
		// it a tunnel past the proxy's rules.
		res.ErrCode = codeInvalidStatus
		res.ErrMessage = "script answered status " + strconv.Itoa(res.Status) + "; scripts may answer 200 to 599"
		apierror.Writef(ctx, fasthttp.StatusInternalServerError, res.ErrCode, s.errorMessage(ctx, app, res))
		return nil
	}
	if !s.holdBody(ctx, res.Body) {
		res.ErrCode = codeServerBusy
		res.ErrMessage = "response of " + strconv.Itoa(len(res.Body)) +
			" bytes not sent: large responses still being read hold server.max_response_memory"
		ctx.Response.Header.Set("Retry-After", "1")
		apierror.Writef(ctx, fasthttp.StatusServiceUnavailable, res.ErrCode, res.ErrMessage)
		return nil
	}
	ctx.SetStatusCode(res.Status)
	notes = setResponseHeaders(&ctx.Response.Header, res.Headers)
	// The body is ours (the executor hands over a copy no one else
	// writes): sent as it is, not copied into fasthttp's buffer.
	ctx.Response.SetBodyRaw(res.Body)
	return notes
}

// record logs the invocation; notes (what respond dropped) join its
// error text, so the admin sees why a header never arrived.
func (s *Server) record(app *App, req *actors.Request, res *actors.Result, status int, elapsed time.Duration, notes []string) {
	if s.recorder == nil {
		return
	}
	errText := strings.Join(notes, "\n")
	if res.ErrCode != "" {
		errText = res.ErrCode + ": " + res.ErrMessage
	}
	s.recorder.Add(Invocation{
		RequestID: req.RequestID,
		AppID:     app.ID,
		ScriptID:  res.ScriptID,
		Version:   res.Version,
		RouteID:   res.RouteID,
		Method:    req.Method,
		Path:      req.Path,
		Status:    status,
		Duration:  elapsed,
		Output:    res.Output,
		Error:     errText,
		At:        time.Now().UTC(),
		Fetches:   res.Fetches,
		Node:      res.Node,
	})
}

// metrics are the Prometheus collectors of the data plane.
type metrics struct {
	registry *prometheus.Registry
	byClass  [6]prometheus.Counter
	duration prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "picloud_requests_total",
		Help: "Script requests answered, by HTTP status class.",
	}, []string{"class"})
	for i := 1; i <= 5; i++ {
		m.byClass[i] = requests.WithLabelValues(strconv.Itoa(i) + "xx")
	}
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "picloud_request_duration_seconds",
		Help:    "Time from ingress to answer for script requests.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	})
	m.registry.MustRegister(requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(status int, elapsed time.Duration) {
	if c := status / 100; c >= 1 && c <= 5 {
		m.byClass[c].Inc()
	}
	m.duration.Observe(elapsed.Seconds())
}
