package config

import (
	"reflect"
	"strings"
	"testing"
)

const pgURL = "postgres://pi@db:5432/picloud"

func TestClusterDefaults(t *testing.T) {
	want := Cluster{
		Gossip: "0.0.0.0:7946",
		Remote: "0.0.0.0:7947",
		Roles:  []string{"manager", "ingress", "executor"},
	}
	if got := Default().Cluster; !reflect.DeepEqual(got, want) {
		t.Errorf("Default().Cluster = %+v, want %+v", got, want)
	}
	for _, r := range []string{RoleManager, RoleIngress, RoleExecutor} {
		if !Default().Cluster.HasRole(r) {
			t.Errorf("default node lacks role %q", r)
		}
	}
}

// Every cluster variable beats the file, lists split at commas.
func TestClusterEnvOverrides(t *testing.T) {
	const file = `
database {
  url = "` + pgURL + `"
}
cluster {
  enabled   = false
  gossip    = "10.0.0.1:1000"
  remote    = "10.0.0.1:1001"
  advertise = "file.lan"
  join      = ["10.0.0.2:1000"]
  node_name = "file"
  roles     = ["manager"]
}
`
	tests := []struct {
		env, value string
		set        func(*Cluster)
	}{
		{EnvClusterEnabled, "true", func(c *Cluster) { c.Enabled = true }},
		{EnvClusterGossip, "127.0.0.1:2000", func(c *Cluster) { c.Gossip, c.Enabled = "127.0.0.1:2000", true }},
		{EnvClusterRemote, ":2001", func(c *Cluster) { c.Remote = ":2001" }},
		{EnvClusterAdvertise, "10.1.2.3", func(c *Cluster) { c.Advertise = "10.1.2.3" }},
		{EnvClusterJoin, "10.0.0.7:7946, pi8.lan ,", func(c *Cluster) { c.Join, c.Enabled = []string{"10.0.0.7:7946", "pi8.lan"}, true }},
		{EnvNodeName, "pi9", func(c *Cluster) { c.NodeName = "pi9" }},
		{EnvClusterRoles, "ingress,executor", func(c *Cluster) { c.Roles = []string{RoleIngress, RoleExecutor} }},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			want, err := loadSource(t, file, nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.set(&want.Cluster)
			got, err := loadSource(t, file, map[string]string{tc.env: tc.value})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Cluster, want.Cluster) {
				t.Errorf("with %s=%q:\ngot  %+v\nwant %+v", tc.env, tc.value, got.Cluster, want.Cluster)
			}
		})
	}
}

// Naming where to gossip or whom to join turns cluster mode on, unless
// PICLOUD_CLUSTER_ENABLED says otherwise; the file's keys alone do not.
func TestClusterImpliedByEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing", map[string]string{}, false},
		{"gossip", map[string]string{EnvClusterGossip: ":7946"}, true},
		{"join", map[string]string{EnvClusterJoin: "10.0.0.5"}, true},
		{"join but disabled", map[string]string{EnvClusterJoin: "10.0.0.5", EnvClusterEnabled: "false"}, false},
		{"remote alone", map[string]string{EnvClusterRemote: ":7000"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.env[EnvDatabaseURL] = pgURL
			c, err := Load("", mapEnv(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Cluster.Enabled != tc.want {
				t.Errorf("Enabled = %v, want %v", c.Cluster.Enabled, tc.want)
			}
		})
	}
	c, err := loadSource(t, "database {\n  url = \""+pgURL+"\"\n}\ncluster {\n  join = [\"10.0.0.5\"]\n}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Enabled {
		t.Error("join in the file turned cluster mode on; only enabled = true or the environment may")
	}
}

func TestClusterNeedsPostgres(t *testing.T) {
	for _, url := range []string{"", "sqlite://pi.db"} {
		_, err := Load("", mapEnv(map[string]string{EnvClusterEnabled: "true", EnvDatabaseURL: url}))
		if err == nil {
			t.Fatalf("database %q: cluster mode started", url)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "cluster mode needs PostgreSQL: set database.url") || strings.Contains(msg, "\n") {
			t.Errorf("database %q: error %q is not the one clear line", url, msg)
		}
	}
	for _, url := range []string{pgURL, "postgresql://db/pi"} {
		if _, err := Load("", mapEnv(map[string]string{EnvClusterEnabled: "true", EnvDatabaseURL: url})); err != nil {
			t.Errorf("database %q: %v", url, err)
		}
	}
	// Off, SQLite is fine whatever the cluster keys say.
	if _, err := Load("", mapEnv(map[string]string{EnvClusterRoles: "executor"})); err != nil {
		t.Error(err)
	}
}

func TestClusterFileErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"enabled not bool", `enabled = "yes"`,
			`config.hcl:2,13: cluster.enabled: "yes" is not true or false`},
		{"gossip without port", `gossip = "10.0.0.5"`,
			`config.hcl:2,12: cluster.gossip: "10.0.0.5" is not host:port (e.g. "127.0.0.1:8080" or ":8080")`},
		{"gossip host a name", `gossip = "localhost:7946"`,
			`config.hcl:2,12: cluster.gossip: "localhost:7946": the host must be an IP address such as 0.0.0.0 or 10.0.0.5, not a name`},
		{"remote bad port", `remote = "0.0.0.0:99999"`,
			`config.hcl:2,12: cluster.remote: "0.0.0.0:99999": port "99999" is not a number from 0 to 65535`},
		{"advertise with port", `advertise = "10.0.0.5:7946"`,
			`config.hcl:2,15: cluster.advertise: "10.0.0.5:7946" is not an IP address or host name (no port or scheme: the ports are those of cluster.gossip and cluster.remote)`},
		{"advertise with scheme", `advertise = "http://pi1"`,
			`config.hcl:2,15: cluster.advertise: "http://pi1" is not an IP address or host name (no port or scheme: the ports are those of cluster.gossip and cluster.remote)`},
		{"join bad port", `join = ["10.0.0.5:gossip"]`,
			`config.hcl:2,10: cluster.join: "10.0.0.5:gossip": port "gossip" is not a number from 1 to 65535`},
		{"join port zero", `join = ["10.0.0.5:0"]`,
			`config.hcl:2,10: cluster.join: "10.0.0.5:0": port "0" is not a number from 1 to 65535`},
		{"join a URL", `join = ["http://10.0.0.5"]`,
			`config.hcl:2,10: cluster.join: "http://10.0.0.5" is not a gossip address such as "10.0.0.5:7946" or "pi1.lan"`},
		{"join not a list", `join = { seed = "10.0.0.5" }`,
			`config.hcl:2,10: cluster.join: list of string required`},
		{"node name with space", `node_name = "pi 1"`,
			`config.hcl:2,15: cluster.node_name: "pi 1" may hold only letters, digits, '.', '-' and '_' (at most 64)`},
		{"node name too long", `node_name = "` + strings.Repeat("n", 65) + `"`,
			`config.hcl:2,15: cluster.node_name: "` + strings.Repeat("n", 65) + `" may hold only letters, digits, '.', '-' and '_' (at most 64)`},
		{"unknown role", `roles = ["manager", "worker"]`,
			`config.hcl:2,11: cluster.roles: "worker" is not one of "manager", "ingress", "executor"`},
		{"no role", `roles = []`,
			`config.hcl:2,11: cluster.roles: a node needs at least one role of "manager", "ingress", "executor"`},
		{"role twice", `roles = ["executor", "executor"]`,
			`config.hcl:2,11: cluster.roles: "executor" is listed twice`},
		{"unknown key", `gosip = ":7946"`,
			`config.hcl:2,3: unknown key "gosip" in block "cluster" (did you mean "gossip"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadSource(t, "cluster {\n  "+tc.body+"\n}\n", nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestClusterEnvErrors(t *testing.T) {
	tests := []struct {
		env, value, want string
	}{
		{EnvClusterEnabled, "on", `PICLOUD_CLUSTER_ENABLED: cluster.enabled: "on" is not true or false`},
		{EnvClusterGossip, "pi1:7946", `PICLOUD_CLUSTER_GOSSIP: cluster.gossip: "pi1:7946": the host must be an IP address such as 0.0.0.0 or 10.0.0.5, not a name`},
		{EnvClusterJoin, "10.0.0.5:7946,10.0.0.6:x", `PICLOUD_CLUSTER_JOIN: cluster.join: "10.0.0.6:x": port "x" is not a number from 1 to 65535`},
		{EnvClusterRoles, "ingress,admin", `PICLOUD_CLUSTER_ROLES: cluster.roles: "admin" is not one of "manager", "ingress", "executor"`},
		{EnvClusterRoles, " , ", `PICLOUD_CLUSTER_ROLES: cluster.roles: a node needs at least one role of "manager", "ingress", "executor"`},
		{EnvNodeName, "pi/1", `PICLOUD_NODE_NAME: cluster.node_name: "pi/1" may hold only letters, digits, '.', '-' and '_' (at most 64)`},
	}
	for _, tc := range tests {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			_, err := Load("", mapEnv(map[string]string{tc.env: tc.value, EnvDatabaseURL: pgURL}))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestClusterSamePort(t *testing.T) {
	env := map[string]string{EnvDatabaseURL: pgURL, EnvClusterGossip: "10.0.0.5:7000", EnvClusterRemote: "0.0.0.0:7000"}
	_, err := Load("", mapEnv(env))
	want := `cluster.gossip "10.0.0.5:7000" and cluster.remote "0.0.0.0:7000" use the same port 7000: give each its own`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	// Port 0 asks the system for a free port each: no clash.
	env[EnvClusterGossip], env[EnvClusterRemote] = "127.0.0.1:0", "127.0.0.1:0"
	if _, err := Load("", mapEnv(env)); err != nil {
		t.Error(err)
	}
}

// A list may be written as one string, as the environment writes it.
func TestClusterListAsString(t *testing.T) {
	c, err := loadSource(t, "cluster {\n  roles = \"ingress, executor\"\n  join = \"\"\n}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{RoleIngress, RoleExecutor}; !reflect.DeepEqual(c.Cluster.Roles, want) {
		t.Errorf("roles = %q, want %q", c.Cluster.Roles, want)
	}
	if c.Cluster.Join != nil {
		t.Errorf("join = %q, want none", c.Cluster.Join)
	}
}
