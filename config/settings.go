package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud/internal/clientip"
)

// Environment variables that override config.hcl.
const (
	EnvListen         = "PICLOUD_LISTEN"
	EnvDataDir        = "PICLOUD_DATA_DIR"
	EnvDatabaseURL    = "PICLOUD_DATABASE_URL"
	EnvPublicBaseURL  = "PICLOUD_PUBLIC_BASE_URL"
	EnvBaseDomain     = "PICLOUD_BASE_DOMAIN"
	EnvLogLevel       = "PICLOUD_LOG_LEVEL"
	EnvAdminHost      = "PICLOUD_ADMIN_HOST"
	EnvMetricsListen  = "PICLOUD_METRICS_LISTEN"
	EnvPublicErrors   = "PICLOUD_PUBLIC_ERRORS"
	EnvTrustedProxies = "PICLOUD_TRUSTED_PROXIES"
	// The connection caps: what an operator tunes first under a flood,
	// often where editing a file is not at hand (a container).
	EnvMaxConnections      = "PICLOUD_MAX_CONNECTIONS"
	EnvMaxConnectionsPerIP = "PICLOUD_MAX_CONNECTIONS_PER_IP"
)

// maxBodySize bounds every size setting: bodies and output are held in
// memory, so anything larger is a typo, not a plan.
const maxBodySize = GiB

// setting is one configuration key: where it sits in config.hcl, the
// environment variable that overrides it (if any), and how its value is
// parsed into and shown from a Config. File values reach parse as text too
// (numbers and bools converted), so the file and the environment share one
// syntax and one set of checks.
type setting struct {
	block string // "" for a top-level key
	key   string
	env   string
	value
}

// value reads and writes one field of a Config.
type value struct {
	// parse validates text and stores it; on error the field is unchanged.
	parse func(string) error
	// show returns the field for GET /config, in config.hcl syntax.
	show func() any
	// items, set for list keys only, validates and stores the items of
	// an HCL list.
	items func([]string) error
}

// name is the dotted name used in messages: "executor.timeout".
func (s setting) name() string {
	if s.block == "" {
		return s.key
	}
	return s.block + "." + s.key
}

// settings lists every key, in the order of the example config.hcl, bound
// to the fields of c.
func (c *Config) settings() []setting {
	srv, ex := &c.Server, &c.Executor
	return append([]setting{
		{"server", "listen", EnvListen, text(&srv.Listen, checkHostPort)},
		{"server", "public_base_url", EnvPublicBaseURL, text(&srv.PublicBaseURL, checkPublicURL)},
		{"server", "base_domain", EnvBaseDomain, text(&srv.BaseDomain, checkDomain)},
		{"server", "default_app", "", text(&srv.DefaultApp, checkSlug)},
		{"server", "admin_host", EnvAdminHost, text(&srv.AdminHost, checkAdminHost)},
		{"server", "metrics_listen", EnvMetricsListen, text(&srv.MetricsListen, optional(checkHostPort))},
		{"server", "public_errors", EnvPublicErrors, boolean(&srv.PublicErrors)},
		{"server", "max_request_body", "", size(&srv.MaxRequestBody)},
		{"server", "read_timeout", "", duration(&srv.ReadTimeout)},
		{"server", "write_timeout", "", duration(&srv.WriteTimeout)},
		{"server", "idle_timeout", "", duration(&srv.IdleTimeout)},
		{"server", "shutdown_timeout", "", duration(&srv.ShutdownTimeout)},
		{"server", "admin_request_timeout", "", duration(&srv.AdminRequestTimeout)},
		{"server", "max_connections", EnvMaxConnections, autoInteger(&srv.MaxConnections, 1, maxConnections)},
		{"server", "max_connections_per_ip", EnvMaxConnectionsPerIP, integerIn(&srv.MaxConnectionsPerIP, 1, maxConnections)},
		{"server", "max_response_memory", "", sizeIn(&srv.MaxResponseMemory, MiB, 1024*GiB)},
		{"server", "trusted_proxies", EnvTrustedProxies, list(&srv.TrustedProxies, checkTrustedProxies)},
		{"server", "fetch_allow_private", "", boolean(&srv.FetchAllowPrivate)},
		{"server", "fetch_timeout", "", duration(&srv.FetchTimeout)},
		{"server", "fetch_max_response_body", "", size(&srv.FetchMaxResponseBody)},
		{"server", "fetch_max_concurrency", "", integer(&srv.FetchMaxConcurrency, 1)},
		{"", "data_dir", EnvDataDir, text(&c.DataDir, checkNotEmpty)},
		{"database", "url", EnvDatabaseURL, databaseURL(&c.Database.URL)},
		{"executor", "isolation", "", oneOf(&ex.Isolation, IsolationNone, IsolationProcess)},
		{"executor", "timeout", "", duration(&ex.Timeout)},
		{"executor", "max_concurrency", "", integer(&ex.MaxConcurrency, 1)},
		{"executor", "queue_limit", "", integer(&ex.QueueLimit, 1)},
		{"executor", "queue_timeout", "", duration(&ex.QueueTimeout)},
		{"executor", "idle_timeout", "", duration(&ex.IdleTimeout)},
		{"executor", "max_output", "", size(&ex.MaxOutput)},
		{"executor", "max_response_body", "", size(&ex.MaxResponseBody)},
		{"executor", "crash_limit", "", integer(&ex.CrashLimit, 1)},
		{"executor", "crash_window", "", duration(&ex.CrashWindow)},
		{"executor", "memory_limit", "", sizeIn(&ex.MemoryLimit, 32*MiB, 1024*GiB)},
		{"executor", "worker_procs", "", integer(&ex.WorkerProcs, 1)},
		{"executor", "restart_backoff", "", duration(&ex.RestartBackoff)},
		{"executor", "restart_backoff_max", "", duration(&ex.RestartBackoffMax)},
		{"executor", "max_source", "", sizeIn(&ex.MaxSource, KiB, 16*MiB)},
		{"executor", "check_timeout", "", duration(&ex.CheckTimeout)},
		{"executor", "max_checks", "", integer(&ex.MaxChecks, 1)},
		{"invocations", "retain", "", integer(&c.Invocations.Retain, 1)},
		{"invocations", "max_per_second", "", integer(&c.Invocations.MaxPerSecond, 1)},
		{"log", "level", EnvLogLevel, logLevel(&c.Log.Level)},
		{"log", "format", "", oneOf(&c.Log.Format, LogText, LogJSON)},
		{"kv", "max_keys", "", integer(&c.KV.MaxKeys, 1)},
		{"kv", "max_bytes", "", size(&c.KV.MaxBytes)},
	}, c.clusterSettings()...)
}

// Public is the configuration as GET /config shows it: blocks as nested
// maps, keys and value syntax as in config.hcl ("5s", "64KiB"), and the
// password of database.url replaced by "xxxxx".
func (c *Config) Public() map[string]any {
	out := map[string]any{}
	for _, s := range c.settings() {
		if s.block == "" {
			out[s.key] = s.show()
			continue
		}
		block, ok := out[s.block].(map[string]any)
		if !ok {
			block = map[string]any{}
			out[s.block] = block
		}
		block[s.key] = s.show()
	}
	return out
}

// text is a string that passes check.
func text(dst *string, check func(string) error) value {
	return value{
		parse: func(s string) error {
			if err := check(s); err != nil {
				return err
			}
			*dst = s
			return nil
		},
		show: func() any { return *dst },
	}
}

// duration is a positive Go duration.
func duration(dst *time.Duration) value {
	return value{
		parse: func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("invalid duration %q (use a Go duration such as \"5s\", \"250ms\" or \"1m30s\")", s)
			}
			if d <= 0 {
				return fmt.Errorf("duration %q must be positive", s)
			}
			*dst = d
			return nil
		},
		show: func() any { return formatDuration(*dst) },
	}
}

// formatDuration is d.String() without zero trailing units: "5m", not "5m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// size is a byte size between 1 byte and maxBodySize.
func size(dst *int64) value { return sizeIn(dst, 1, maxBodySize) }

// sizeIn is a byte size between least and most.
func sizeIn(dst *int64, least, most int64) value {
	return value{
		parse: func(s string) error {
			n, err := ParseSize(s)
			if err != nil {
				return err
			}
			if n < least || n > most {
				return fmt.Errorf("size %q is out of range (%s to %s)", s, FormatSize(least), FormatSize(most))
			}
			*dst = n
			return nil
		},
		show: func() any { return FormatSize(*dst) },
	}
}

// integer is a whole number no smaller than least.
func integer(dst *int, least int) value {
	return value{
		parse: func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", s)
			}
			if n < least {
				return fmt.Errorf("%d is too small (minimum %d)", n, least)
			}
			*dst = n
			return nil
		},
		show: func() any { return *dst },
	}
}

// maxConnections bounds the connection limits: Linux's default ceiling
// of open files per process (fs.nr_open).
const maxConnections = 1 << 20

// Auto is the value of a setting that the server derives at start,
// stored as 0.
const Auto = "auto"

// integerIn is a whole number from least to most.
func integerIn(dst *int, least, most int) value {
	v := integer(dst, least)
	parse := v.parse
	v.parse = func(s string) error {
		if n, err := strconv.Atoi(s); err == nil && n > most {
			return fmt.Errorf("%d is too large (maximum %d)", n, most)
		}
		return parse(s)
	}
	return v
}

// autoInteger is Auto (stored as 0) or a whole number from least to most.
func autoInteger(dst *int, least, most int) value {
	v := integerIn(dst, least, most)
	parse := v.parse
	v.parse = func(s string) error {
		if s == Auto {
			*dst = 0
			return nil
		}
		if err := parse(s); err != nil {
			return fmt.Errorf("%w, or %q", err, Auto)
		}
		return nil
	}
	v.show = func() any {
		if *dst == 0 {
			return Auto
		}
		return *dst
	}
	return v
}

// oneOf is one of the allowed strings.
func oneOf(dst *string, allowed ...string) value {
	return text(dst, func(s string) error {
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("%q is not one of %s", s, quoteList(allowed))
		}
		return nil
	})
}

// logLevel is a slog.Level written as one of LogDebug, LogInfo, LogWarn,
// LogError.
func logLevel(dst *slog.Level) value {
	names := []string{LogDebug, LogInfo, LogWarn, LogError}
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}
	return value{
		parse: func(s string) error {
			i := slices.Index(names, s)
			if i < 0 {
				return fmt.Errorf("%q is not one of %s", s, quoteList(names))
			}
			*dst = levels[i]
			return nil
		},
		show: func() any { return strings.ToLower(dst.String()) },
	}
}

// databaseURL is a database URL (see checkDatabaseURL), shown without its
// password.
func databaseURL(dst *string) value {
	v := text(dst, checkDatabaseURL)
	v.show = func() any {
		if u, err := url.Parse(*dst); err == nil {
			return u.Redacted()
		}
		return ""
	}
	return v
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = strconv.Quote(it)
	}
	return strings.Join(q, ", ")
}

func checkNotEmpty(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// checkHostPort accepts host:port with a numeric port; the host may be empty
// (every interface), a name, or an IP (IPv6 in brackets).
func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. \"127.0.0.1:8080\" or \":8080\")", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	return nil
}

// checkPublicURL accepts "" or an absolute http(s) URL without query,
// fragment or credentials.
func checkPublicURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with http:// or https://", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must not have credentials, a query or a fragment", s)
	}
	return nil
}

// checkDomain accepts a bare DNS name such as "example.com" or "localhost".
func checkDomain(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isLabel(label) {
			return fmt.Errorf("%q is not a bare lower-case domain name such as \"example.com\" (no scheme, port or path)", s)
		}
	}
	return nil
}

// checkTrustedProxies accepts CIDR prefixes and single addresses.
func checkTrustedProxies(items []string) error {
	_, err := clientip.Parse(items)
	return err
}

// checkAdminHost accepts "" (admin.<base_domain>), a bare lower-case
// domain name or an IP address (IPv6 without brackets): a host, never a
// port, since the admin UI shares the listener of the apps.
func checkAdminHost(s string) error {
	if s == "" || net.ParseIP(s) != nil && !strings.Contains(s, "%") {
		return nil
	}
	if err := checkDomain(s); err != nil {
		return fmt.Errorf("%q is neither a bare lower-case host name such as \"admin.example.com\" nor an IP address (no scheme, port or path)", s)
	}
	return nil
}

// optional accepts "" or what check accepts.
func optional(check func(string) error) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		return check(s)
	}
}

// checkSlug accepts "" (no default app) or an app slug, which is a DNS label
// because apps answer on <slug>.<base_domain>.
func checkSlug(s string) error {
	if s != "" && !isLabel(s) {
		return fmt.Errorf("%q is not an app slug (lower-case letters, digits and '-')", s)
	}
	return nil
}

// isLabel reports whether s is a lower-case DNS label.
func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// checkDatabaseURL accepts "" (embedded SQLite), sqlite://PATH, or a
// postgres:// / postgresql:// URL, the forms models.Open takes. Its
// messages never repeat the URL, which may carry a password.
func checkDatabaseURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a valid URL (value not shown: it may hold a password)")
	}
	switch {
	case u.Scheme == "postgres" || u.Scheme == "postgresql":
		if u.Opaque != "" {
			return fmt.Errorf("write %s://... (value not shown: it may hold a password)", u.Scheme)
		}
		return nil
	case u.Scheme == "sqlite":
		if path, ok := strings.CutPrefix(s, "sqlite://"); !ok || path == "" {
			return errors.New(`write sqlite://PATH ("sqlite:///abs/picloud.db" or "sqlite://rel/picloud.db")`)
		}
		return nil
	}
	return fmt.Errorf("scheme %q is not supported (use postgres://, postgresql://, sqlite:// or \"\" for the embedded database)", u.Scheme)
}

// Environment lists the variables that override config keys, each with
// the key it sets ("server.listen"), in the order of config.hcl: what
// `picloud --help` shows.
func Environment() [][2]string {
	var out [][2]string
	for _, s := range Default().settings() {
		if s.env != "" {
			out = append(out, [2]string{s.env, s.name()})
		}
	}
	return out
}
