package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestPublicDefaults(t *testing.T) {
	got, err := json.Marshal(Default().Public())
	if err != nil {
		t.Fatal(err)
	}
	want := `{` +
		`"cluster":{"advertise":"","enabled":false,"gossip":"0.0.0.0:7946","join":[],"node_name":"","remote":"0.0.0.0:7947","roles":["manager","ingress","executor"]},` +
		`"data_dir":"./data",` +
		`"database":{"url":""},` +
		`"executor":{"check_timeout":"10s","crash_limit":5,"crash_window":"1m","idle_timeout":"5m","isolation":"process","max_checks":2,"max_concurrency":8,"max_output":"64KiB","max_response_body":"6MiB","max_source":"256KiB","memory_limit":"256MiB","queue_limit":256,"queue_timeout":"1s","restart_backoff":"100ms","restart_backoff_max":"30s","timeout":"5s","worker_procs":1},` +
		`"invocations":{"max_per_second":1000,"retain":100000},` +
		`"kv":{"max_bytes":"64MiB","max_keys":10000},` +
		`"log":{"format":"text","level":"info"},` +
		`"server":{"admin_host":"","admin_request_timeout":"30s","base_domain":"localhost","default_app":"hello",` +
		`"fetch_allow_private":false,"fetch_max_concurrency":16,"fetch_max_response_body":"10MiB","fetch_timeout":"10s",` +
		`"idle_timeout":"2m","listen":"127.0.0.1:8080","max_connections":"auto","max_connections_per_ip":256,"max_request_body":"1MiB","max_response_memory":"256MiB","metrics_listen":"","public_base_url":"","public_errors":false,"read_timeout":"30s","shutdown_timeout":"10s","trusted_proxies":[],"write_timeout":"30s"}}`
	if string(got) != want {
		t.Errorf("Default().Public() =\n%s\nwant\n%s", got, want)
	}
}

func TestPublicHidesDatabasePassword(t *testing.T) {
	c := Default()
	c.Database.URL = "postgres://pi:hunter2@db:5432/picloud?sslmode=disable"
	got := c.Public()["database"].(map[string]any)["url"]
	if got != "postgres://pi:xxxxx@db:5432/picloud?sslmode=disable" {
		t.Errorf("database.url shown as %v", got)
	}
}

// What Public shows is valid config.hcl: written back as a file, it loads
// to the same Config.
func TestPublicRoundTrips(t *testing.T) {
	c := Default()
	c.Server.Listen, c.Server.PublicBaseURL, c.Server.DefaultApp = "[::1]:9", "https://x.example", ""
	c.Server.IdleTimeout, c.Server.MaxRequestBody = 90*time.Minute+time.Second, 1536
	c.Server.MaxConnections, c.Server.MaxConnectionsPerIP = 900, 9
	c.Executor.Timeout, c.Executor.MaxOutput, c.Executor.QueueLimit = 1500*time.Millisecond, 3*GiB/4, 1
	c.Database.URL, c.Log.Level = "sqlite:///var/pi.db", slog.LevelWarn
	c.Cluster.Join, c.Cluster.Roles, c.Cluster.NodeName = []string{"10.0.0.5:7946", "pi2"}, []string{RoleExecutor}, "pi1"
	for _, cfg := range []*Config{Default(), c} {
		got, err := loadSource(t, hclOf(cfg.Public()), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, cfg) {
			t.Errorf("round trip of\n%+v\ngave\n%+v", cfg, got)
		}
	}
}

// hclOf writes the output of Public as config.hcl.
func hclOf(public map[string]any) string {
	var b strings.Builder
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	literal := func(v any) string {
		switch v := v.(type) {
		case string:
			return fmt.Sprintf("%q", v)
		case []string:
			q := make([]string, len(v))
			for i, s := range v {
				q[i] = fmt.Sprintf("%q", s)
			}
			return "[" + strings.Join(q, ", ") + "]"
		}
		return fmt.Sprint(v)
	}
	for _, k := range keys(public) {
		block, ok := public[k].(map[string]any)
		if !ok {
			fmt.Fprintf(&b, "%s = %s\n", k, literal(public[k]))
			continue
		}
		fmt.Fprintf(&b, "%s {\n", k)
		for _, bk := range keys(block) {
			fmt.Fprintf(&b, "  %s = %s\n", bk, literal(block[bk]))
		}
		b.WriteString("}\n")
	}
	return b.String()
}
