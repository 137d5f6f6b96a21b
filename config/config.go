package config

import (
	"github.com/picloud/picloud/internal/clientip"

	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Values of Executor.Isolation.
const (
	// IsolationNone runs scripts inside the serving process.
	IsolationNone = "none"
	// IsolationProcess runs scripts in supervised `picloud worker` processes.
	IsolationProcess = "process"
)

// Names of the log levels in config.hcl and PICLOUD_LOG_LEVEL, read into
// Log.Level as slog.LevelDebug, LevelInfo, LevelWarn and LevelError.
const (
	LogDebug = "debug"
	LogInfo  = "info"
	LogWarn  = "warn"
	LogError = "error"
)

// Values of Log.Format.
const (
	LogText = "text"
	LogJSON = "json"
)

// Config is the whole configuration of one PiCloud process. Load and Default
// return it validated; the zero value is not useful.
type Config struct {
	Server Server
	// DataDir holds the embedded SQLite database and other local state.
	// A relative path is relative to the working directory.
	DataDir     string
	Database    Database
	Executor    Executor
	Invocations Invocations
	Log         Log
	Cluster     Cluster
	KV          KV
}

// Server is the HTTP ingress (block "server").
type Server struct {
	// Listen is the host:port the HTTP server binds; an empty host means
	// every interface.
	Listen string
	// PublicBaseURL is the URL users reach this server at, as configured;
	// "" means http://<Listen>. Use BaseURL for the resolved value.
	PublicBaseURL string
	// BaseDomain makes app "shop" answer on shop.<BaseDomain>.
	BaseDomain string
	// DefaultApp is the slug of the app that answers hosts no app claims;
	// "" means such hosts get 404.
	DefaultApp string
	// AdminHost is the one host the admin UI and API answer on, and on
	// which no app ever answers; "" means "admin." + BaseDomain. Use
	// AdminHostname for the resolved value.
	AdminHost string
	// MetricsListen is the host:port of a separate listener that serves
	// /metrics; "" serves no metrics.
	MetricsListen string
	// PublicErrors shows public callers the details of a failed script
	// call (panic text and line, crash reasons, script ids and versions),
	// which otherwise only the invocation log and admin calls get. For
	// development.
	PublicErrors bool
	// MaxRequestBody is the largest request body accepted, in bytes.
	MaxRequestBody int64
	// ReadTimeout bounds reading one request, WriteTimeout writing one
	// response, IdleTimeout how long a keep-alive connection may sit idle.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// ShutdownTimeout is how long a graceful shutdown waits for in-flight
	// requests before closing their connections.
	ShutdownTimeout time.Duration
	// AdminRequestTimeout bounds the work of one admin API request, its
	// database calls included; past it the request is answered 503.
	AdminRequestTimeout time.Duration
	// MaxConnections caps the HTTP connections open at once, below the
	// open-file limit; past it a new connection is answered 503. 0
	// ("auto") derives it from the open-file limit at start.
	MaxConnections int
	// MaxConnectionsPerIP caps the connections one client (an IPv4
	// address or an IPv6 /64) may hold; past it a new one is answered 429.
	MaxConnectionsPerIP int
	// MaxResponseMemory bounds the bytes of large response bodies held
	// while their clients read them; a script response past it is
	// answered 503.
	MaxResponseMemory int64
	// TrustedProxies are the CIDR prefixes (or addresses) of reverse
	// proxies whose X-Forwarded-For names the client; empty trusts none.
	// Use Proxies for the parsed set.
	TrustedProxies []string
	// FetchAllowPrivate lets scripts' picloud.Fetch reach loopback and
	// private addresses (RFC 1918, CGNAT, IPv6 unique local); link-local,
	// metadata, multicast and unspecified addresses stay refused.
	FetchAllowPrivate bool
	// FetchTimeout is the longest one picloud.Fetch may take (and its
	// default); the script's own time budget may end it sooner.
	FetchTimeout time.Duration
	// FetchMaxResponseBody caps the body of a fetched response, in bytes.
	FetchMaxResponseBody int64
	// FetchMaxConcurrency is how many fetches one app's scripts may have
	// in flight at once on this server; more wait.
	FetchMaxConcurrency int
}

// KV holds the defaults of apps' key-value storage (block "kv"); apps
// may override them.
type KV struct {
	// MaxKeys and MaxBytes are an app's quota: its live keys, and the
	// bytes of their keys and values.
	MaxKeys  int
	MaxBytes int64
}

// Database selects the SQL database (block "database").
type Database struct {
	// URL is "" for the embedded SQLite file in DataDir, sqlite://PATH for
	// a SQLite file elsewhere ("sqlite:///abs/x.db", "sqlite://rel/x.db"),
	// or a postgres:// or postgresql:// URL. models.Open interprets it.
	URL string
}

// Executor holds the defaults for running scripts (block "executor"); apps
// and scripts may lower or raise them.
type Executor struct {
	// Isolation is IsolationNone or IsolationProcess.
	Isolation string
	// Timeout is the time budget of one invocation.
	Timeout time.Duration
	// MaxConcurrency is how many invocations of one script version may run
	// at once (the size its executor pool may grow to).
	MaxConcurrency int
	// QueueLimit is how many invocations may wait for a busy pool before
	// new ones are answered 503 (at least 1).
	QueueLimit int
	// QueueTimeout is how long an invocation may wait for a busy pool
	// before it is answered 503.
	QueueTimeout time.Duration
	// IdleTimeout is how long an idle executor lives before the pool
	// shrinks.
	IdleTimeout time.Duration
	// MaxOutput caps the printed and logged output kept per invocation,
	// in bytes.
	MaxOutput int64
	// MaxResponseBody caps a script's response (body and headers), in
	// bytes; a bigger one is answered 500 response_too_large.
	MaxResponseBody int64
	// A script version whose executors crash (panic or time out) more
	// than CrashLimit times within CrashWindow is parked: answered 503
	// until the window has passed or a new version is deployed.
	CrashLimit  int
	CrashWindow time.Duration
	// MemoryLimit is the memory one worker process (one app's scripts)
	// may use with IsolationProcess; past it the worker ends, not the
	// server.
	MemoryLimit int64
	// WorkerProcs is how many cores one worker process (one app's
	// scripts) may use at once (its GOMAXPROCS).
	WorkerProcs int
	// RestartBackoff is the wait before a worker that died with no
	// script to blame (it could not start) is started again; it doubles
	// with each such failure in a row up to RestartBackoffMax. A worker a
	// script killed restarts at once: parking stops that loop.
	RestartBackoff    time.Duration
	RestartBackoffMax time.Duration
	// MaxSource caps a script's source, in bytes; a bigger upload is
	// refused with 413. Every upload is checked (parsed, compiled, its
	// initialisers run) in a short-lived checker process under
	// MemoryLimit; CheckTimeout bounds one check (past it the upload is
	// refused with 422) and MaxChecks how many run at once.
	MaxSource    int64
	CheckTimeout time.Duration
	MaxChecks    int
}

// Invocations configures the invocation log (block "invocations").
type Invocations struct {
	// Retain is how many of the newest invocation records are kept
	// (at least 1).
	Retain int
	// MaxPerSecond caps how many invocations are recorded per second;
	// past it they are counted in /metrics but not stored (at least 1).
	MaxPerSecond int
}

// Log configures the process log (block "log").
type Log struct {
	// Level is the least severe level logged: slog.LevelDebug, LevelInfo,
	// LevelWarn or LevelError (a slog.Leveler, for slog.HandlerOptions).
	Level slog.Level
	// Format is LogText or LogJSON.
	Format string
}

// Default returns the configuration used when no file and no environment
// variable says otherwise. The example config.hcl spells out these values.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			PublicBaseURL:   "",
			BaseDomain:      "localhost",
			DefaultApp:      "hello",
			AdminHost:       "",
			MetricsListen:   "",
			MaxRequestBody:  1 << 20,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    30 * time.Second,
			IdleTimeout:     2 * time.Minute,
			ShutdownTimeout: 10 * time.Second,

			AdminRequestTimeout:  30 * time.Second,
			MaxConnections:       0,
			MaxConnectionsPerIP:  256,
			MaxResponseMemory:    256 << 20,
			FetchAllowPrivate:    false,
			FetchTimeout:         10 * time.Second,
			FetchMaxResponseBody: 10 << 20,
			FetchMaxConcurrency:  16,
		},
		DataDir:  "./data",
		Database: Database{URL: ""},
		Executor: Executor{
			Isolation:         IsolationProcess,
			Timeout:           5 * time.Second,
			MaxConcurrency:    8,
			QueueLimit:        256,
			QueueTimeout:      time.Second,
			IdleTimeout:       5 * time.Minute,
			MaxOutput:         64 << 10,
			MaxResponseBody:   6 << 20,
			CrashLimit:        5,
			CrashWindow:       time.Minute,
			MemoryLimit:       256 << 20,
			WorkerProcs:       1,
			RestartBackoff:    100 * time.Millisecond,
			RestartBackoffMax: 30 * time.Second,
			MaxSource:         256 << 10,
			CheckTimeout:      10 * time.Second,
			MaxChecks:         2,
		},
		Invocations: Invocations{Retain: 100000, MaxPerSecond: 1000},
		Log:         Log{Level: slog.LevelInfo, Format: LogText},
		Cluster:     defaultCluster(),
		KV:          KV{MaxKeys: 10000, MaxBytes: 64 << 20},
	}
}

// BaseURL is the public base URL without a trailing slash: PublicBaseURL
// when set, else http://<Listen>, with an empty or unspecified listen host
// (0.0.0.0, ::) shown as localhost. With port 0 the caller knows the real
// port only after binding and should build the URL itself.
func (s Server) BaseURL() string {
	if s.PublicBaseURL != "" {
		return strings.TrimRight(s.PublicBaseURL, "/")
	}
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		return "http://" + s.Listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Proxies is TrustedProxies parsed (Load has checked it).
func (s Server) Proxies() clientip.Trusted {
	t, _ := clientip.Parse(s.TrustedProxies)
	return t
}

// AdminHostname is the host the admin UI and API answer on: AdminHost, or
// "admin." + BaseDomain when AdminHost is "".
func (s Server) AdminHostname() string {
	if s.AdminHost != "" {
		return s.AdminHost
	}
	return "admin." + s.BaseDomain
}

// AdminURL is the origin of the admin UI and API: the scheme and port of
// publicBase (the resolved public base URL, see BaseURL) with the admin
// host, without a trailing slash.
func (s Server) AdminURL(publicBase string) string {
	scheme, port := "http", ""
	if u, err := url.Parse(publicBase); err == nil && u.Host != "" {
		scheme, port = u.Scheme, u.Port()
	}
	host := s.AdminHostname()
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host
}
