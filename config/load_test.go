package config

import (
	"strings"
	"testing"
)

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown key with suggestion", "server {\n  lisen = \"127.0.0.1:80\"\n}\n",
			`config.hcl:2,3: unknown key "lisen" in block "server" (did you mean "listen"?)`},
		{"unknown top-level key with suggestion", "dat_dir = \"x\"\n",
			`config.hcl:1,1: unknown key "dat_dir" (did you mean "data_dir"?)`},
		{"key in the wrong block", "server {\n  timeout = \"5s\"\n}\n",
			`config.hcl:2,3: unknown key "timeout" in block "server" (it belongs in block "executor")`},
		{"block key at top level", "listen = \":80\"\n",
			`config.hcl:1,1: unknown key "listen" (it belongs in block "server")`},
		{"unknown key without suggestion", "log {\n  colour = true\n}\n",
			`config.hcl:2,3: unknown key "colour" in block "log"`},
		{"unknown block with suggestion", "\nsever {\n}\n",
			`config.hcl:2,1: unknown block "sever" (did you mean "server"?)`},
		{"nested block", "server {\n  tls {\n  }\n}\n",
			`config.hcl:2,3: unknown block "tls" in block "server" (blocks do not nest)`},
		{"block written as key", "log = { level = \"info\" }\n",
			`config.hcl:1,1: "log" is a block, not a key: write log { ... }`},
		{"key written as block", "invocations {\n  retain {\n  }\n}\n",
			`config.hcl:2,3: "retain" is a key, not a block: write retain = ...`},
		{"duplicate block", "log {\n}\nlog {\n}\n",
			`config.hcl:3,1: duplicate block "log" (the first is at line 1)`},
		{"labelled block", "database \"main\" {\n}\n",
			`config.hcl:1,10: block "database" takes no labels`},
		{"bad duration", "executor {\n  timeout = \"fast\"\n}\n",
			`config.hcl:2,13: executor.timeout: invalid duration "fast" (use a Go duration such as "5s", "250ms" or "1m30s")`},
		{"duration without unit", "server {\n  read_timeout = 30\n}\n",
			`config.hcl:2,18: server.read_timeout: invalid duration "30" (use a Go duration such as "5s", "250ms" or "1m30s")`},
		{"negative duration", "executor {\n  idle_timeout = \"-1m\"\n}\n",
			`config.hcl:2,18: executor.idle_timeout: duration "-1m" must be positive`},
		{"zero duration", "server {\n  shutdown_timeout = \"0s\"\n}\n",
			`config.hcl:2,22: server.shutdown_timeout: duration "0s" must be positive`},
		{"bad size unit", "executor {\n  max_output = \"64KB\"\n}\n",
			`config.hcl:2,16: executor.max_output: invalid size "64KB": unknown unit "KB" (use B, KiB, MiB, GiB or TiB; 1KiB = 1024 bytes)`},
		{"size too big", "server {\n  max_request_body = \"2GiB\"\n}\n",
			`config.hcl:2,22: server.max_request_body: size "2GiB" is out of range (1B to 1GiB)`},
		{"zero size", "executor {\n  max_output = 0\n}\n",
			`config.hcl:2,16: executor.max_output: size "0" is out of range (1B to 1GiB)`},
		{"memory limit too small", "executor {\n  memory_limit = \"1MiB\"\n}\n",
			`config.hcl:2,18: executor.memory_limit: size "1MiB" is out of range (32MiB to 1TiB)`},
		{"source limit too big", "executor {\n  max_source = \"1GiB\"\n}\n",
			`config.hcl:2,16: executor.max_source: size "1GiB" is out of range (1KiB to 16MiB)`},
		{"bad enum", "executor {\n  isolation = \"vm\"\n}\n",
			`config.hcl:2,15: executor.isolation: "vm" is not one of "none", "process"`},
		{"bad log level", "log {\n  level = \"verbose\"\n}\n",
			`config.hcl:2,11: log.level: "verbose" is not one of "debug", "info", "warn", "error"`},
		{"bad log format", "log {\n  format = \"xml\"\n}\n",
			`config.hcl:2,12: log.format: "xml" is not one of "text", "json"`},
		{"fractional integer", "executor {\n  max_concurrency = 8.5\n}\n",
			`config.hcl:2,21: executor.max_concurrency: "8.5" is not a whole number`},
		{"integer too small", "executor {\n  max_concurrency = 0\n}\n",
			`config.hcl:2,21: executor.max_concurrency: 0 is too small (minimum 1)`},
		{"zero retain", "invocations {\n  retain = 0\n}\n",
			`config.hcl:2,12: invocations.retain: 0 is too small (minimum 1)`},
		{"negative queue limit", "executor {\n  queue_limit = -1\n}\n",
			`config.hcl:2,17: executor.queue_limit: -1 is too small (minimum 1)`},
		{"max connections zero", "server {\n  max_connections = 0\n}\n",
			`config.hcl:2,21: server.max_connections: 0 is too small (minimum 1), or "auto"`},
		{"max connections word", "server {\n  max_connections = \"many\"\n}\n",
			`config.hcl:2,21: server.max_connections: "many" is not a whole number, or "auto"`},
		{"max connections too large", "server {\n  max_connections = 2000000\n}\n",
			`config.hcl:2,21: server.max_connections: 2000000 is too large (maximum 1048576), or "auto"`},
		{"per ip zero", "server {\n  max_connections_per_ip = 0\n}\n",
			`config.hcl:2,28: server.max_connections_per_ip: 0 is too small (minimum 1)`},
		{"per ip auto", "server {\n  max_connections_per_ip = \"auto\"\n}\n",
			`config.hcl:2,28: server.max_connections_per_ip: "auto" is not a whole number`},
		{"per ip too large", "server {\n  max_connections_per_ip = 1048577\n}\n",
			`config.hcl:2,28: server.max_connections_per_ip: 1048577 is too large (maximum 1048576)`},
		{"response memory too small", "server {\n  max_response_memory = \"64KiB\"\n}\n",
			`config.hcl:2,25: server.max_response_memory: size "64KiB" is out of range (1MiB to 1TiB)`},
		{"listen without port", "server {\n  listen = \"localhost\"\n}\n",
			`config.hcl:2,12: server.listen: "localhost" is not host:port (e.g. "127.0.0.1:8080" or ":8080")`},
		{"listen with bad port", "server {\n  listen = \"localhost:http\"\n}\n",
			`config.hcl:2,12: server.listen: "localhost:http": port "http" is not a number from 0 to 65535`},
		{"public url scheme", "server {\n  public_base_url = \"ftp://example.com\"\n}\n",
			`config.hcl:2,21: server.public_base_url: "ftp://example.com" must start with http:// or https://`},
		{"public url without host", "server {\n  public_base_url = \"example.com\"\n}\n",
			`config.hcl:2,21: server.public_base_url: "example.com" must start with http:// or https://`},
		{"public url with query", "server {\n  public_base_url = \"https://example.com/?a=1\"\n}\n",
			`config.hcl:2,21: server.public_base_url: "https://example.com/?a=1" must not have credentials, a query or a fragment`},
		{"base domain with port", "server {\n  base_domain = \"example.com:80\"\n}\n",
			`config.hcl:2,17: server.base_domain: "example.com:80" is not a bare lower-case domain name such as "example.com" (no scheme, port or path)`},
		{"default app not a slug", "server {\n  default_app = \"Hello World\"\n}\n",
			`config.hcl:2,17: server.default_app: "Hello World" is not an app slug (lower-case letters, digits and '-')`},
		{"database scheme", "database {\n  url = \"mysql://root:hunter2@db/pi\"\n}\n",
			`config.hcl:2,9: database.url: scheme "mysql" is not supported (use postgres://, postgresql://, sqlite:// or "" for the embedded database)`},
		{"sqlite without path", "database {\n  url = \"sqlite://\"\n}\n",
			`config.hcl:2,9: database.url: write sqlite://PATH ("sqlite:///abs/picloud.db" or "sqlite://rel/picloud.db")`},
		{"sqlite without slashes", "database {\n  url = \"sqlite:pi.db\"\n}\n",
			`config.hcl:2,9: database.url: write sqlite://PATH ("sqlite:///abs/picloud.db" or "sqlite://rel/picloud.db")`},
		{"postgres without slashes", "database {\n  url = \"postgres:pi@db\"\n}\n",
			`config.hcl:2,9: database.url: write postgres://... (value not shown: it may hold a password)`},
		{"empty data dir", "data_dir = \"\"\n",
			`config.hcl:1,12: data_dir: must not be empty`},
		{"wrong type", "data_dir = [\"a\"]\n",
			`config.hcl:1,12: data_dir: string required, but have tuple`},
		{"null", "data_dir = null\n",
			`config.hcl:1,12: data_dir: null value is not allowed`},
		{"variable", "data_dir = env.HOME\n",
			`config.hcl:1,12: data_dir: Variables may not be used here`},
		{"syntax error", "server {\n  listen =\n}\n",
			`config.hcl:2,11: Expected the start of an expression, but found an invalid expression token`},
		{"every error, in file order",
			"executor {\n  timeout = \"soon\"\n}\nserver {\n  lisen = \":1\"\n  listen = \"x\"\n}\n",
			`config.hcl:2,13: executor.timeout: invalid duration "soon" (use a Go duration such as "5s", "250ms" or "1m30s")` + "\n" +
				`config.hcl:5,3: unknown key "lisen" in block "server" (did you mean "listen"?)` + "\n" +
				`config.hcl:6,12: server.listen: "x" is not host:port (e.g. "127.0.0.1:8080" or ":8080")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadSource(t, tc.src, nil)
			if err == nil {
				t.Fatalf("no error; loaded %+v", c)
			}
			if c != nil {
				t.Errorf("got a Config with an error")
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestLoadEnvErrors(t *testing.T) {
	tests := []struct {
		env, value, want string
	}{
		{EnvLogLevel, "verbose", `PICLOUD_LOG_LEVEL: log.level: "verbose" is not one of "debug", "info", "warn", "error"`},
		{EnvListen, "8080", `PICLOUD_LISTEN: server.listen: "8080" is not host:port (e.g. "127.0.0.1:8080" or ":8080")`},
		{EnvPublicBaseURL, "pi.example.com", `PICLOUD_PUBLIC_BASE_URL: server.public_base_url: "pi.example.com" must start with http:// or https://`},
		{EnvBaseDomain, "https://example.com", `PICLOUD_BASE_DOMAIN: server.base_domain: "https://example.com" is not a bare lower-case domain name such as "example.com" (no scheme, port or path)`},
		{EnvDatabaseURL, "mysql://root:hunter2@db/pi", `PICLOUD_DATABASE_URL: database.url: scheme "mysql" is not supported (use postgres://, postgresql://, sqlite:// or "" for the embedded database)`},
		{EnvDatabaseURL, "postgres://root:hunter2@db:port/pi", `PICLOUD_DATABASE_URL: database.url: is not a valid URL (value not shown: it may hold a password)`},
	}
	for _, tc := range tests {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			_, err := Load("", mapEnv(map[string]string{tc.env: tc.value}))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the database password: %s", err)
			}
		})
	}
}

// File and environment errors are reported together, file first.
func TestLoadReportsFileAndEnvErrors(t *testing.T) {
	_, err := loadSource(t, "log {\n  format = \"xml\"\n}\n", map[string]string{EnvLogLevel: "loud"})
	want := `config.hcl:2,12: log.format: "xml" is not one of "text", "json"` + "\n" +
		`PICLOUD_LOG_LEVEL: log.level: "loud" is not one of "debug", "info", "warn", "error"`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
}
