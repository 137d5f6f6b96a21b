package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/webui"
	"github.com/picloud/picloud/worker"
)

// sessionPurgeInterval is how often expired admin sessions are deleted.
const sessionPurgeInterval = 10 * time.Minute

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openDB opens and migrates the configured database.
func openDB(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*models.DB, error) {
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

func migrate(ctx context.Context, path string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func serve(ctx context.Context, path string, stderr io.Writer) error {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	db, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Seed(ctx, sandbox.HelloWorld); err != nil {
		return fmt.Errorf("seed database: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	defer ln.Close()
	publicURL := cfg.Server.PublicBaseURL
	if publicURL == "" {
		// With port 0 the configured address says nothing useful.
		publicURL = "http://" + ln.Addr().String()
	}
	adminURL := cfg.Server.AdminURL(publicURL)

	engine, closeEngine, err := newEngine(cfg, logger)
	if err != nil {
		return err
	}
	// Deferred first, run last: the routers drain before their workers go.
	defer closeEngine()
	caps, err := newCapabilities(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	runtime := actors.NewRuntime(logger, actors.WithEngine(engine), actors.WithHosts(caps.hosts))
	defer runtime.Shutdown()

	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writer := models.NewInvocationWriter(db, logger, models.InvocationWriterOptions{
		Retain:       cfg.Invocations.Retain,
		MaxPerSecond: cfg.Invocations.MaxPerSecond,
	})
	var writerDone sync.WaitGroup
	writerDone.Go(func() { writer.Run(writerCtx) })
	defer func() {
		stopWriter()
		writerDone.Wait()
	}()

	var ing *ingress.Server
	deployer := deploy.New(deploy.Options{
		DB:         db,
		Runtime:    runtime,
		Publish:    func(t *ingress.Table) { ing.SetTable(t) },
		Limits:     executorLimits(cfg),
		DefaultApp: cfg.Server.DefaultApp,
		BaseDomain: cfg.Server.BaseDomain,
		Logger:     logger,
		Record:     writer.Add,
	})
	caps.deployer = deployer
	clock, err := newClock(os.Getenv)
	if err != nil {
		return err
	}
	checker, err := newChecker(cfg, logger)
	if err != nil {
		return err
	}
	api := admin.New(admin.Options{
		DB: db, Deployer: adminDeployer{deployer}, Logger: logger, Config: cfg.Public(),
		Now: clock, SecureCookie: strings.HasPrefix(publicURL, "https://"),
		BaseDomain: cfg.Server.BaseDomain, MaxRequestBody: cfg.Server.MaxRequestBody,
		Checker:   checker,
		AdminHost: cfg.Server.AdminHostname(),
		KVQuota:   caps.kvQuota, Secrets: caps.secrets, Scheduler: caps.scheduler,
	})
	ing = ingress.New(ingress.Options{
		Version:       version,
		PublicBaseURL: publicURL,
		// Longer than a request may queue and then run, so the executor's
		// 504 or 503 is the one the client sees.
		Timeout: cfg.Executor.QueueTimeout + cfg.Executor.Timeout + time.Second,
		Admin:   api.Handler,
		UI:      webui.Handler(),
		Execute: api.RequireExecute,

		AdminHost:     cfg.Server.AdminHostname(),
		SessionCookie: admin.SessionCookie,
	}, runtime, invocationLog{writer}, logger)
	registerWriterMetrics(ing.Registry(), writer)
	if cfg.Server.MetricsListen != "" {
		stopMetrics, err := serveMetrics(cfg.Server.MetricsListen, ing.MetricsHandler(), logger)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	if err := deployer.LoadAll(ctx); err != nil {
		return err
	}
	// The database is the truth: a change whose notification was lost
	// goes live at the next resync.
	resyncCtx, stopResync := context.WithCancel(context.WithoutCancel(ctx))
	var resyncDone sync.WaitGroup
	resyncDone.Go(func() { deployer.Run(resyncCtx) })
	defer func() {
		stopResync()
		resyncDone.Wait()
	}()

	srv := &fasthttp.Server{
		Handler:               ing.Handler,
		Name:                  "picloud",
		NoDefaultServerHeader: true,
		ReadTimeout:           cfg.Server.ReadTimeout,
		WriteTimeout:          cfg.Server.WriteTimeout,
		IdleTimeout:           cfg.Server.IdleTimeout,
		MaxRequestBodySize:    int(cfg.Server.MaxRequestBody),
		ErrorHandler:          ingress.ReadError,
		Logger:                fasthttpLogger{logger},
	}
	limited := ing.LimitConnections(srv, ln, connLimits(cfg, logger))
	// The first admin exists (or can be made) before anyone is served: a
	// bad bootstrap variable stops the start.
	err = api.Bootstrap(ctx, admin.Bootstrap{
		Username: os.Getenv(admin.EnvAdminUsername),
		Password: os.Getenv(admin.EnvAdminPassword),
		AdminURL: adminURL,
		Out:      stderr,
	})
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(limited) }()
	logger.Info("listening", "addr", ln.Addr().String(), "version", version,
		"data_dir", cfg.DataDir, "database", db.Dialect())
	fmt.Fprintf(stderr, "PiCloud %s is up: %s/ (admin UI: %s/admin/, admin API: %s%s)\n",
		version, publicURL, adminURL, adminURL, admin.Prefix)
	fmt.Fprintf(stderr, "PiCloud %s is up: %s/ (admin API under %s)\n", version, publicURL, admin.Prefix)
	defer caps.start(ctx)()
	janitorCtx, stopJanitor := context.WithCancel(context.WithoutCancel(ctx))
	var janitorDone sync.WaitGroup
	janitorDone.Go(func() { api.RunJanitor(janitorCtx, sessionPurgeInterval) })
	defer func() {
		stopJanitor()
		janitorDone.Wait()
	}()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(shutdownCtx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	return nil
}

// newEngine is where scripts run: worker processes (the default) or
// this process. The returned func stops the workers.
func newEngine(cfg *config.Config, logger *slog.Logger) (engine.Engine, func(), error) {
	if cfg.Executor.Isolation == config.IsolationNone {
		logger.Warn("executor.isolation = \"none\": scripts run inside the server; a script that crashes the Go runtime takes the server down")
		return engine.InProcess{}, func() {}, nil
	}
	e, err := worker.NewEngine(worker.Options{
		MemoryLimit: cfg.Executor.MemoryLimit,
		Procs:       cfg.Executor.WorkerProcs,
		Backoff:     cfg.Executor.RestartBackoff,
		MaxBackoff:  cfg.Executor.RestartBackoffMax,
		Logger:      logger,
	})
	if err != nil {
		return nil, nil, err
	}
	return e, e.Close, nil
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

// registerWriterMetrics exports what the invocation log left out.
func registerWriterMetrics(reg *prometheus.Registry, w *models.InvocationWriter) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_invocations_unrecorded_total",
			Help: "Invocations not stored because invocations.max_per_second was reached.",
		}, func() float64 { return float64(w.Unrecorded()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_invocations_dropped_total",
			Help: "Invocations lost to a full write buffer or a failed batch write.",
		}, func() float64 { return float64(w.Dropped()) }),
	)
}

// fasthttpLogger routes fasthttp's own messages into slog.
type fasthttpLogger struct{ logger *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.logger.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}
