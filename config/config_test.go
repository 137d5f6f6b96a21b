package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadSource writes src to config.hcl in a fresh working directory and loads
// it, so messages name "config.hcl" as a user would see them.
func loadSource(t *testing.T, src string, env map[string]string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, "config.hcl"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load("config.hcl", mapEnv(env))
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadWithoutFileIsDefault(t *testing.T) {
	for _, env := range []func(string) string{nil, mapEnv(nil)} {
		c, err := Load("", env)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Load(\"\") = %+v, want Default() %+v", c, Default())
		}
	}
}

func TestDefaultValues(t *testing.T) {
	c := Default()
	checks := []struct {
		key       string
		got, want any
	}{
		{"server.listen", c.Server.Listen, "127.0.0.1:8080"},
		{"server.public_base_url", c.Server.PublicBaseURL, ""},
		{"server.base_domain", c.Server.BaseDomain, "localhost"},
		{"server.default_app", c.Server.DefaultApp, "hello"},
		{"server.max_request_body", c.Server.MaxRequestBody, int64(1 << 20)},
		{"server.read_timeout", c.Server.ReadTimeout, 30 * time.Second},
		{"server.max_connections", c.Server.MaxConnections, 0},
		{"server.max_connections_per_ip", c.Server.MaxConnectionsPerIP, 256},
		{"server.max_response_memory", c.Server.MaxResponseMemory, int64(256 << 20)},
		{"data_dir", c.DataDir, "./data"},
		{"database.url", c.Database.URL, ""},
		{"executor.isolation", c.Executor.Isolation, IsolationProcess},
		{"executor.timeout", c.Executor.Timeout, 5 * time.Second},
		{"executor.max_concurrency", c.Executor.MaxConcurrency, 8},
		{"executor.queue_limit", c.Executor.QueueLimit, 256},
		{"executor.idle_timeout", c.Executor.IdleTimeout, 5 * time.Minute},
		{"executor.max_output", c.Executor.MaxOutput, int64(64 << 10)},
		{"executor.memory_limit", c.Executor.MemoryLimit, int64(256 << 20)},
		{"executor.worker_procs", c.Executor.WorkerProcs, 1},
		{"executor.restart_backoff", c.Executor.RestartBackoff, 100 * time.Millisecond},
		{"executor.restart_backoff_max", c.Executor.RestartBackoffMax, 30 * time.Second},
		{"executor.max_source", c.Executor.MaxSource, int64(256 << 10)},
		{"executor.check_timeout", c.Executor.CheckTimeout, 10 * time.Second},
		{"executor.max_checks", c.Executor.MaxChecks, 2},
		{"invocations.retain", c.Invocations.Retain, 100000},
		{"invocations.max_per_second", c.Invocations.MaxPerSecond, 1000},
		{"log.level", c.Log.Level, slog.LevelInfo},
		{"log.format", c.Log.Format, LogText},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, tc.got, tc.want)
		}
	}
}

// The example config.hcl documents every key at its default.
func TestExampleConfigIsDefault(t *testing.T) {
	c, err := Load("../config.hcl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("../config.hcl loads as\n%+v\nwant Default()\n%+v", c, Default())
	}
	src, err := os.ReadFile("../config.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Default().settings() {
		if !strings.Contains(string(src), "\n"+indent(s)+s.key+" = ") {
			t.Errorf("../config.hcl does not set %s", s.name())
		}
		if s.env != "" && !strings.Contains(string(src), s.env) {
			t.Errorf("../config.hcl does not mention %s", s.env)
		}
	}
}

func indent(s setting) string {
	if s.block == "" {
		return ""
	}
	return "  "
}

// Every key reaches its field: a file changing every value loads to exactly
// the Config that says so.
func TestLoadEveryKey(t *testing.T) {
	src := `
server {
  listen           = ":9090"
  public_base_url  = "https://cloud.example.com/"
  base_domain      = "apps.example.com"
  default_app      = ""
  admin_host       = "pi-admin.example.com"
  metrics_listen   = "127.0.0.1:9464"
  max_request_body = "2MiB"
  read_timeout     = "1s"
  write_timeout    = "2s"
  idle_timeout     = "3s"
  shutdown_timeout = "4s"
  admin_request_timeout  = "5s"
  max_connections        = 5000
  max_connections_per_ip = 50
  max_response_memory    = "64MiB"
  fetch_allow_private     = true
  fetch_timeout           = "3s"
  fetch_max_response_body = "1MiB"
  fetch_max_concurrency   = 2
}
kv {
  max_keys  = 50
  max_bytes = "1MiB"
}
data_dir = "/var/lib/picloud"
database {
  url = "postgres://pi:secret@db:5432/picloud?sslmode=disable"
}
executor {
  isolation           = "none"
  timeout             = "250ms"
  max_concurrency     = 2
  queue_limit         = 3
  queue_timeout       = "2s"
  idle_timeout        = "1m30s"
  max_output          = 4096
  max_response_body   = "2MiB"
  crash_limit         = 9
  crash_window        = "10s"
  memory_limit        = "1GiB"
  worker_procs        = 2
  restart_backoff     = "1s"
  restart_backoff_max = "1m"
  max_source          = "64KiB"
  check_timeout       = "3s"
  max_checks          = 4
}
invocations {
  retain         = 5
  max_per_second = 7
}
log {
  level  = "debug"
  format = "json"
}
cluster {
  enabled   = true
  gossip    = "10.0.0.5:8946"
  remote    = "10.0.0.5:8947"
  advertise = "pi1.lan"
  join      = ["10.0.0.6:8946", "pi3.lan"]
  node_name = "pi1"
  roles     = ["executor", "ingress"]
}
`
	want := &Config{
		Server: Server{
			Listen:          ":9090",
			PublicBaseURL:   "https://cloud.example.com/",
			BaseDomain:      "apps.example.com",
			DefaultApp:      "",
			AdminHost:       "pi-admin.example.com",
			MetricsListen:   "127.0.0.1:9464",
			MaxRequestBody:  2 << 20,
			ReadTimeout:     time.Second,
			WriteTimeout:    2 * time.Second,
			IdleTimeout:     3 * time.Second,
			ShutdownTimeout: 4 * time.Second,

			AdminRequestTimeout:  5 * time.Second,
			MaxConnections:       5000,
			MaxConnectionsPerIP:  50,
			MaxResponseMemory:    64 << 20,
			FetchAllowPrivate:    true,
			FetchTimeout:         3 * time.Second,
			FetchMaxResponseBody: 1 << 20,
			FetchMaxConcurrency:  2,
		},
		KV:       KV{MaxKeys: 50, MaxBytes: 1 << 20},
		DataDir:  "/var/lib/picloud",
		Database: Database{URL: "postgres://pi:secret@db:5432/picloud?sslmode=disable"},
		Executor: Executor{
			Isolation:         IsolationNone,
			Timeout:           250 * time.Millisecond,
			MaxConcurrency:    2,
			QueueLimit:        3,
			QueueTimeout:      2 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxOutput:         4096,
			MaxResponseBody:   2 << 20,
			CrashLimit:        9,
			CrashWindow:       10 * time.Second,
			MemoryLimit:       1 << 30,
			WorkerProcs:       2,
			RestartBackoff:    time.Second,
			RestartBackoffMax: time.Minute,
			MaxSource:         64 << 10,
			CheckTimeout:      3 * time.Second,
			MaxChecks:         4,
		},
		Invocations: Invocations{Retain: 5, MaxPerSecond: 7},
		Log:         Log{Level: slog.LevelDebug, Format: LogJSON},
		Cluster: Cluster{
			Enabled:   true,
			Gossip:    "10.0.0.5:8946",
			Remote:    "10.0.0.5:8947",
			Advertise: "pi1.lan",
			Join:      []string{"10.0.0.6:8946", "pi3.lan"},
			NodeName:  "pi1",
			Roles:     []string{RoleExecutor, RoleIngress},
		},
	}
	got, err := loadSource(t, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestEnvOverrides(t *testing.T) {
	// The file sets every overridable key, so each override must beat it.
	const file = `
server {
  listen          = "127.0.0.1:7000"
  public_base_url = "http://file.example.com"
  base_domain     = "file.example.com"
  admin_host      = "admin.file.example.com"
  metrics_listen  = "127.0.0.1:9000"
}
data_dir = "file-data"
database {
  url = "sqlite://file.db"
}
log {
  level = "error"
}
`
	tests := []struct {
		env, value string
		set        func(*Config, string)
	}{
		{EnvListen, "0.0.0.0:80", func(c *Config, v string) { c.Server.Listen = v }},
		{EnvPublicBaseURL, "https://pi.example.com", func(c *Config, v string) { c.Server.PublicBaseURL = v }},
		{EnvBaseDomain, "example.org", func(c *Config, v string) { c.Server.BaseDomain = v }},
		{EnvAdminHost, "10.0.0.1", func(c *Config, v string) { c.Server.AdminHost = v }},
		{EnvMetricsListen, "[::1]:9464", func(c *Config, v string) { c.Server.MetricsListen = v }},
		{EnvMaxConnections, "5000", func(c *Config, _ string) { c.Server.MaxConnections = 5000 }},
		{EnvMaxConnectionsPerIP, "30", func(c *Config, _ string) { c.Server.MaxConnectionsPerIP = 30 }},
		{EnvDataDir, "/srv/picloud", func(c *Config, v string) { c.DataDir = v }},
		{EnvDatabaseURL, "postgresql://db/picloud", func(c *Config, v string) { c.Database.URL = v }},
		{EnvLogLevel, "warn", func(c *Config, _ string) { c.Log.Level = slog.LevelWarn }},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			want, err := loadSource(t, file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(want, Default()) {
				t.Fatal("file changes nothing; the test would prove nothing")
			}
			tc.set(want, tc.value)
			got, err := loadSource(t, file, map[string]string{tc.env: tc.value})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("with %s=%q:\ngot  %+v\nwant %+v", tc.env, tc.value, got, want)
			}
		})
	}
}

func TestEnvOverrideWithoutFile(t *testing.T) {
	c, err := Load("", mapEnv(map[string]string{EnvListen: ":1234", EnvLogLevel: "debug"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server.Listen, want.Log.Level = ":1234", slog.LevelDebug
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.hcl"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "nope.hcl") {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		listen, public, want string
	}{
		{"127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{":8080", "", "http://localhost:8080"},
		{"0.0.0.0:80", "", "http://localhost:80"},
		{"[::]:8080", "", "http://localhost:8080"},
		{"[::1]:8080", "", "http://[::1]:8080"},
		{"127.0.0.1:8080", "https://pi.example.com/", "https://pi.example.com"},
		{"127.0.0.1:8080", "https://example.com/pi", "https://example.com/pi"},
	}
	for _, tc := range tests {
		s := Server{Listen: tc.listen, PublicBaseURL: tc.public}
		if got := s.BaseURL(); got != tc.want {
			t.Errorf("BaseURL(listen %q, public %q) = %q, want %q", tc.listen, tc.public, got, tc.want)
		}
	}
}
