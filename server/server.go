// Package server is PiCloud's composition root: it opens the database,
// builds the engine, actor runtime, deployer, admin API and ingress from
// a config, serves them on a listener, and stops them in order. It holds
// no globals, so a test can start several servers in one process (on one
// database, as the nodes of a cluster share one). `picloud serve` and
// `picloud dev` are thin callers of it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/cluster/executors"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/fetch"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/webui"
	"github.com/picloud/picloud/worker"
)

// sessionPurgeInterval is how often expired admin sessions are deleted.
const sessionPurgeInterval = 10 * time.Minute

// Options are what a config does not say: where the log goes, the first
// admin, the clock, and (for tests) which program runs workers and checks.
type Options struct {
	// Log receives the server's log and the lines meant for the operator
	// (the setup link, "is up"); nil discards them.
	Log io.Writer
	// Version is the release version the server reports.
	Version string
	// AdminUsername and AdminPassword create the first admin when no
	// admin exists (PICLOUD_ADMIN_USERNAME, PICLOUD_ADMIN_PASSWORD).
	AdminUsername, AdminPassword string
	// Now is the clock of sessions and rate limits; nil is time.Now.
	Now func() time.Time
	// WorkerCommand and WorkerEnv start script workers, CheckCommand and
	// CheckEnv upload checkers; empty means this executable's `worker`
	// and `check` commands. Tests point them at the test binary.
	WorkerCommand, WorkerEnv []string
	CheckCommand, CheckEnv   []string
	// FetchResolver and FetchDial are the network of picloud.Fetch; nil
	// is the real one. End-to-end builds keep it on the loopback.
	FetchResolver fetch.Resolver
	FetchDial     fetch.DialFunc
}

// Server is one PiCloud server. New builds it, Start serves, Shutdown
// stops it; a Server is not restarted.
type Server struct {
	cfg    *config.Config
	opts   Options
	logger *slog.Logger

	db        *models.DB
	ln        net.Listener
	publicURL string
	adminURL  string
	deployer  *deploy.Deployer
	api       *admin.API
	ingress   *ingress.Server
	http      *fasthttp.Server
	limited   net.Listener
	node      *cluster.Node
	spread    *executors.Engine // places executors in cluster mode
	caps      *capabilities
	// clusterMetrics are this node's member and remote-call figures.
	clusterMetrics *cluster.Metrics
	metricsAddr    net.Addr

	// bg is the context of the background loops Start runs; stopBG ends
	// them at Shutdown.
	bg     context.Context
	stopBG context.CancelFunc
	// closers stop what New and Start built, run in reverse order.
	closers []func()

	serveErr     chan error
	started      bool
	shutdownOnce sync.Once
}

// New opens and migrates the database, seeds it, listens on
// cfg.Server.Listen, builds every part, deploys every stored app and
// makes sure the first admin exists (or prints its setup link). It does
// not serve yet: Start does. On error everything built is stopped again.
func New(ctx context.Context, cfg *config.Config, opts Options) (_ *Server, err error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{cfg: cfg, opts: opts, logger: NewLogger(cfg, opts.Log), serveErr: make(chan error, 1)}
	s.bg, s.stopBG = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := s.build(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// onClose registers f to run at Shutdown, before everything registered
// earlier.
func (s *Server) onClose(f func()) { s.closers = append(s.closers, f) }

// goBG runs loop in the background until Shutdown, which waits for it.
func (s *Server) goBG(loop func(ctx context.Context)) {
	ctx, stop := context.WithCancel(s.bg)
	var done sync.WaitGroup
	done.Go(func() { loop(ctx) })
	s.onClose(func() {
		stop()
		done.Wait()
	})
}

func (s *Server) build(ctx context.Context) error {
	cfg, logger := s.cfg, s.logger
	db, err := OpenDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	s.db = db
	s.onClose(func() { db.Close() })
	if err := db.Seed(ctx, sandbox.HelloWorld); err != nil {
		return fmt.Errorf("seed database: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	s.ln = ln
	s.onClose(func() { ln.Close() })
	s.publicURL = cfg.Server.PublicBaseURL
	if s.publicURL == "" {
		// With port 0 the configured address says nothing useful.
		s.publicURL = "http://" + ln.Addr().String()
	}
	s.adminURL = cfg.Server.AdminURL(s.publicURL)

	eng, closeEngine, err := s.newEngine()
	if err != nil {
		return err
	}
	// Registered first, run last: the routers drain before their workers go.
	s.onClose(closeEngine)
	// Before the routers: they drain (and reach other members) before the
	// node leaves.
	local := eng
	if eng, err = s.startCluster(ctx, local); err != nil {
		return err
	}
	if s.clusterMetrics == nil { // outside cluster mode
		s.clusterMetrics = newClusterMetrics(s)
	}
	caps, err := newCapabilities(ctx, cfg, db, logger, s.opts.FetchResolver, s.opts.FetchDial)
	if err != nil {
		return err
	}
	s.caps = caps
	// Registered before the background loops (Start): runs after them.
	s.onClose(caps.fetch.Close)
	runtime := actors.NewRuntime(logger, actors.WithEngine(eng), actors.WithHosts(caps.hosts),
		actors.WithParkReports(s.recordParked))
	s.onClose(runtime.Shutdown)

	writer := models.NewInvocationWriter(db, logger, models.InvocationWriterOptions{
		Retain:       cfg.Invocations.Retain,
		MaxPerSecond: cfg.Invocations.MaxPerSecond,
	})
	s.goBG(writer.Run)

	s.deployer = deploy.New(deploy.Options{
		DB:         db,
		Runtime:    runtime,
		Publish:    func(t *ingress.Table) { s.ingress.SetTable(t) },
		Limits:     executorLimits(cfg),
		DefaultApp: cfg.Server.DefaultApp,
		BaseDomain: cfg.Server.BaseDomain,
		Logger:     logger,
		Record:     invocationLog{w: writer, node: s.NodeName()}.AddRow,
		Node:       s.NodeName(),
	})
	caps.deployer = s.deployer
	checker, err := s.newChecker()
	if err != nil {
		return err
	}
	var clusterView admin.ClusterInfo
	if s.node != nil {
		clusterView = clusterInfo{node: s.node, deployer: s.deployer}
	}
	s.api = admin.New(admin.Options{
		DB: db, Deployer: adminDeployer{s.deployer}, Logger: logger, Config: cfg.Public(),
		Now: s.opts.Now, SecureCookie: strings.HasPrefix(s.publicURL, "https://"),
		BaseDomain: cfg.Server.BaseDomain, MaxRequestBody: cfg.Server.MaxRequestBody,
		RequestTimeout: cfg.Server.AdminRequestTimeout,
		Checker:        checker,
		AdminHost:      cfg.Server.AdminHostname(),
		TrustedProxies: cfg.Server.Proxies(),
		Cluster:        clusterView,
		KVQuota:        caps.kvQuota,
		Secrets:        caps.secrets,
		Scheduler:      caps.scheduler,
		Node:           s.NodeName(),
	})
	s.ingress = ingress.New(ingress.Options{
		Version:       s.opts.Version,
		SDKVersion:    sdk.Version,
		PublicBaseURL: s.publicURL,
		// Longer than a request may queue and then run, so the executor's
		// 504 or 503 is the one the client sees.
		Timeout: cfg.Executor.QueueTimeout + cfg.Executor.Timeout + time.Second,
		Admin:   s.adminHandler(),
		UI:      webui.Handler(),
		Execute: s.api.RequireExecute,
		Ready:   readiness(db, local),
		OpenAPI: admin.OpenAPI,

		AdminHost:     cfg.Server.AdminHostname(),
		SessionCookie: admin.SessionCookie,
		PublicErrors:  cfg.Server.PublicErrors,
		NoScripts:     s.noScripts(),
	}, runtime, invocationLog{w: writer, node: s.NodeName()}, logger)
	registerWriterMetrics(s.ingress.Registry(), writer)
	s.ingress.Registry().MustRegister(s.clusterMetrics)
	if cfg.Server.MetricsListen != "" {
		addr, stopMetrics, err := serveMetrics(cfg.Server.MetricsListen, metricsHandler(s.ingress.Registry(), s.NodeName()), logger)
		if err != nil {
			return err
		}
		s.metricsAddr = addr
		s.onClose(stopMetrics)
	}
	if err := s.deployer.LoadAll(ctx); err != nil {
		return err
	}

	s.http = &fasthttp.Server{
		Handler:               s.ingress.Handler,
		Name:                  "picloud",
		NoDefaultServerHeader: true,
		ReadTimeout:           cfg.Server.ReadTimeout,
		WriteTimeout:          cfg.Server.WriteTimeout,
		IdleTimeout:           cfg.Server.IdleTimeout,
		MaxRequestBodySize:    int(cfg.Server.MaxRequestBody),
		ErrorHandler:          ingress.ReadError,
		Logger:                fasthttpLogger{logger},
	}
	s.limited = s.ingress.LimitConnections(s.http, ln, connLimits(cfg, logger))
	if !s.hasRole(config.RoleManager) {
		// The first admin is an admin write: a manager makes it.
		if s.opts.AdminUsername != "" || s.opts.AdminPassword != "" {
			logger.Info("PICLOUD_ADMIN_USERNAME and PICLOUD_ADMIN_PASSWORD are ignored on a node without the manager role: a manager creates the first admin")
		}
		return nil
	}
	// The first admin exists (or can be made) before anyone is served: a
	// bad bootstrap variable stops the start.
	return s.api.Bootstrap(ctx, admin.Bootstrap{
		Username: s.opts.AdminUsername,
		Password: s.opts.AdminPassword,
		AdminURL: s.adminURL,
		Out:      s.opts.Log,
	})
}

// Start serves and starts the background loops: the resync with the
// database, following the changes other processes make (PostgreSQL),
// the janitor, the scheduler and the purge of expired keys.
func (s *Server) Start() error {
	if s.started {
		return errors.New("server: already started")
	}
	s.started = true
	// The database is the truth: a change whose notification was lost
	// goes live at the next resync.
	s.goBG(s.deployer.Run)
	// Other processes on the database (the nodes of a cluster) announce
	// their changes: they go live here at once.
	if s.db.Dialect() == models.DialectPostgres {
		s.goBG(func(ctx context.Context) {
			s.deployer.Follow(ctx, func(ctx context.Context) (deploy.ChangeFeed, error) {
				f, err := s.db.ListenChanges(ctx)
				if err != nil {
					return nil, err
				}
				return f, nil
			})
		})
	}
	go func() { s.serveErr <- s.http.Serve(s.limited) }()
	s.logger.Info("listening", "addr", s.ln.Addr().String(), "version", s.opts.Version,
		"data_dir", s.cfg.DataDir, "database", s.db.Dialect())
	fmt.Fprintf(s.opts.Log, "PiCloud %s is up: %s/ (admin UI: %s/admin/, admin API: %s%s)\n",
		s.opts.Version, s.publicURL, s.adminURL, s.adminURL, admin.Prefix)
	if !s.hasRole(config.RoleManager) {
		return nil
	}
	// The manager's jobs: purges, and schedules firing (each firing is
	// claimed in the database, so several managers fire it once).
	s.goBG(func(ctx context.Context) { s.api.RunJanitor(ctx, sessionPurgeInterval) })
	// Schedules fire and expired keys go once the server serves.
	s.goBG(s.caps.scheduler.Run)
	s.goBG(s.caps.purgeKV)
	return nil
}

// Addr is the address the server listens on (the port chosen when the
// config said port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is "http://" and the listener's address: where a client on this
// machine reaches the server, whatever its public URL says.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// PublicURL is the server's public base URL (server.public_base_url, or
// its listener's URL).
func (s *Server) PublicURL() string { return s.publicURL }

// AdminURL is the origin of the admin host: the admin API and UI.
func (s *Server) AdminURL() string { return s.adminURL }

// MetricsAddr is the address /metrics is served on
// (server.metrics_listen); nil when it is not served.
func (s *Server) MetricsAddr() net.Addr { return s.metricsAddr }

// DB is the server's database.
func (s *Server) DB() *models.DB { return s.db }

// Logger is the server's logger.
func (s *Server) Logger() *slog.Logger { return s.logger }

// Err receives the error that stopped serving before Shutdown, if any.
func (s *Server) Err() <-chan error { return s.serveErr }

// Shutdown stops serving (connections in flight get until ctx ends to
// finish), then the background loops, the routers, the workers and the
// database, in that order. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdownOnce.Do(func() {
		s.logger.Info("shutting down")
		s.api.CloseStreams()
		if s.started {
			if e := s.http.ShutdownWithContext(ctx); e != nil {
				s.logger.Warn("shutdown", "err", e)
				err = e
			}
		}
		s.close()
	})
	return err
}

// close runs the closers, newest first.
func (s *Server) close() {
	s.stopBG()
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Run is `picloud serve`: New, Start, and Shutdown (within
// server.shutdown_timeout) when ctx ends. ready, when set, is called
// once the server serves.
func Run(ctx context.Context, cfg *config.Config, opts Options, ready func(*Server)) error {
	s, err := New(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		s.close()
		return err
	}
	if ready != nil {
		ready(s)
	}
	var serveErr error
	select {
	case err := <-s.serveErr:
		serveErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	_ = s.Shutdown(shutdownCtx) // logged
	return serveErr
}

// NewLogger is the server's logger on w, as the log block says.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenDB opens and migrates the configured database.
func OpenDB(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*models.DB, error) {
	db, err := models.Open(ctx, cfg.Database.URL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	logger.Info("database ready", "dialect", db.Dialect())
	return db, nil
}

// newEngine is where scripts run: worker processes (the default) or
// this process. The returned func stops the workers.
func (s *Server) newEngine() (engine.Engine, func(), error) {
	cfg := s.cfg
	if cfg.Executor.Isolation == config.IsolationNone {
		s.logger.Warn("executor.isolation = \"none\": scripts run inside the server; a script that crashes the Go runtime takes the server down")
		return engine.InProcess{}, func() {}, nil
	}
	e, err := worker.NewEngine(worker.Options{
		Command:     s.opts.WorkerCommand,
		Env:         s.opts.WorkerEnv,
		MemoryLimit: cfg.Executor.MemoryLimit,
		Procs:       cfg.Executor.WorkerProcs,
		Backoff:     cfg.Executor.RestartBackoff,
		MaxBackoff:  cfg.Executor.RestartBackoffMax,
		Logger:      s.logger,
	})
	if err != nil {
		return nil, nil, err
	}
	return e, e.Close, nil
}

// newChecker is where uploads are checked: a checker process per check,
// whatever executor.isolation says, under the limits of the executor
// block.
func (s *Server) newChecker() (*worker.Checker, error) {
	cfg := s.cfg
	return worker.NewChecker(worker.CheckerOptions{
		Command:     s.opts.CheckCommand,
		Env:         s.opts.CheckEnv,
		MemoryLimit: cfg.Executor.MemoryLimit,
		Timeout:     cfg.Executor.CheckTimeout,
		MaxSource:   int(cfg.Executor.MaxSource),
		Concurrency: cfg.Executor.MaxChecks,
		Logger:      s.logger,
	})
}

func executorLimits(cfg *config.Config) actors.Limits {
	return actors.Limits{
		MaxConcurrency: cfg.Executor.MaxConcurrency,
		QueueLimit:     cfg.Executor.QueueLimit,
		QueueTimeout:   cfg.Executor.QueueTimeout,
		Timeout:        cfg.Executor.Timeout,
		MaxOutput:      int(cfg.Executor.MaxOutput),
		IdleTimeout:    cfg.Executor.IdleTimeout,

		MaxResponseBody: int(cfg.Executor.MaxResponseBody),
		CrashLimit:      cfg.Executor.CrashLimit,
		CrashWindow:     cfg.Executor.CrashWindow,
	}
}

// fasthttpLogger routes fasthttp's own messages into slog.
type fasthttpLogger struct{ logger *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.logger.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}
