// Package examples holds deployment examples (Dockerfile, compose file,
// Caddyfile, systemd unit); its tests check what can be checked without a
// network or the tools themselves.
package examples

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string
	args string
}

// parseDockerfile splits a Dockerfile into instructions, refusing
// unknown ones.
func parseDockerfile(t *testing.T, src string) []instruction {
	t.Helper()
	known := []string{"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
		"USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
	var out []instruction
	var cur *instruction
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == nil && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur == nil {
			cmd, args, _ := strings.Cut(trimmed, " ")
			if !slices.Contains(known, strings.ToUpper(cmd)) {
				t.Fatalf("Dockerfile:%d: unknown instruction %q", i+1, cmd)
			}
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd)}
			trimmed = args
		}
		cont := strings.HasSuffix(trimmed, "\\")
		cur.args = strings.TrimSpace(cur.args + " " + strings.TrimSuffix(trimmed, "\\"))
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatalf("Dockerfile:%d: a continued line ends the file", cur.line)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, read(t, "Dockerfile"))
	var stages [][]instruction
	names := map[string]bool{}
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
			if _, name, ok := strings.Cut(strings.ToLower(in.args), " as "); ok {
				names[strings.TrimSpace(name)] = true
			}
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}

	// The build stage makes a static binary with the Go of go.mod.
	gomod := read(t, "../../go.mod")
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	build := stages[0]
	if !strings.Contains(build[0].args, "golang:"+goVersion[1]) {
		t.Errorf("build stage %q, want golang:%s (go.mod)", build[0].args, goVersion[1])
	}
	var runs string
	for _, in := range build {
		if in.cmd == "RUN" {
			runs += in.args + "\n"
		}
	}
	for _, w := range []string{"CGO_ENABLED=0", "go build", "./cmd/picloud"} {
		if !strings.Contains(runs, w) {
			t.Errorf("build stage does not run %q", w)
		}
	}

	// The final stage: a static base, a non-root user, picloud as the
	// entry point (its workers are the same binary).
	final := stages[len(stages)-1]
	if base := final[0].args; !strings.Contains(base, "distroless/static") && base != "scratch" {
		t.Errorf("final base %q is not a static one", base)
	}
	user := ""
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "COPY":
			if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(in.args); m != nil && !names[m[1]] {
				t.Errorf("Dockerfile:%d: COPY --from=%s names no stage", in.line, m[1])
			}
		case "ADD":
			t.Errorf("Dockerfile:%d: ADD; use COPY", in.line)
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); user == "" || uid == "0" || uid == "root" {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	if last := final[len(final)-2:]; last[0].cmd != "ENTRYPOINT" || !strings.Contains(last[0].args, "picloud") || last[1].args != `["serve"]` {
		t.Errorf("final stage ends %+v, want ENTRYPOINT picloud and CMD serve", last)
	}
}

func TestCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Build       struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			Volumes     []string `yaml:"volumes"`
			ReadOnly    bool     `yaml:"read_only"`
			CapDrop     []string `yaml:"cap_drop"`
			SecurityOpt []string `yaml:"security_opt"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	src := read(t, "compose.yaml")
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	// Every key of a service is one Compose knows (a typo is silently
	// ignored by some versions).
	var raw struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	serviceKeys := []string{"build", "cap_add", "cap_drop", "command", "depends_on", "entrypoint", "environment",
		"env_file", "healthcheck", "image", "mem_limit", "ports", "read_only", "restart", "security_opt",
		"stop_grace_period", "tmpfs", "user", "volumes"}
	for name, svc := range raw.Services {
		for k := range svc {
			if !slices.Contains(serviceKeys, k) {
				t.Errorf("service %s: unknown key %q", name, k)
			}
		}
	}
	pg, ok := c.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") || len(pg.Healthcheck.Test) == 0 {
		t.Fatalf("no postgres service with a health check: %+v", pg)
	}
	pc, ok := c.Services["picloud"]
	if !ok {
		t.Fatal("no picloud service")
	}
	if url := pc.Environment["PICLOUD_DATABASE_URL"]; !strings.HasPrefix(url, "postgres://") || !strings.Contains(url, "@postgres:5432/") {
		t.Errorf("PICLOUD_DATABASE_URL = %q, want the postgres service", url)
	}
	if pc.DependsOn["postgres"].Condition != "service_healthy" {
		t.Errorf("picloud does not wait for a healthy postgres: %+v", pc.DependsOn)
	}
	if df := filepath.Join(pc.Build.Context, pc.Build.Dockerfile); df != "../../deploy/examples/Dockerfile" {
		t.Errorf("builds %s, want this folder's Dockerfile", df)
	} else if _, err := os.Stat(df); err != nil {
		t.Error(err)
	}
	if !pc.ReadOnly || !slices.Contains(pc.CapDrop, "ALL") || !slices.Contains(pc.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("picloud is not locked down: read_only %v, cap_drop %v, security_opt %v", pc.ReadOnly, pc.CapDrop, pc.SecurityOpt)
	}
	for _, svc := range c.Services {
		for _, v := range svc.Volumes {
			name, _, _ := strings.Cut(v, ":")
			if _, ok := c.Volumes[name]; !ok {
				t.Errorf("volume %q is not declared", name)
			}
		}
	}
}

// caddyTokens splits a Caddyfile into lines of tokens, without comments.
func caddyTokens(src string) [][]string {
	var lines [][]string
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
		}
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, f)
		}
	}
	return lines
}

func TestCaddyfile(t *testing.T) {
	lines := caddyTokens(read(t, "Caddyfile"))
	depth := 0
	sites := map[string][]string{} // site address -> directives at depth 1
	site := ""
	for i, l := range lines {
		opens, closes := l[len(l)-1] == "{", l[0] == "}"
		if closes {
			depth--
			if depth < 0 {
				t.Fatalf("line %d: } closes nothing", i+1)
			}
			continue
		}
		if depth == 0 && opens && len(l) > 1 {
			site = l[0]
			sites[site] = nil
		}
		if depth == 1 && site != "" {
			sites[site] = append(sites[site], strings.Join(l, " "))
		}
		if opens {
			depth++
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced braces: depth %d at the end", depth)
	}
	var wildcard string
	for addr, directives := range sites {
		if strings.HasPrefix(addr, "*.") {
			wildcard = addr
		}
		if !slices.ContainsFunc(directives, func(d string) bool { return strings.HasPrefix(d, "reverse_proxy 127.0.0.1:8080") }) {
			t.Errorf("site %s does not proxy to PiCloud: %v", addr, directives)
		}
		if !slices.Contains(directives, "respond /metrics 404") {
			t.Errorf("site %s serves /metrics to the world", addr)
		}
		if slices.ContainsFunc(directives, func(d string) bool { return strings.HasPrefix(d, "tls internal") || d == "auto_https off" }) {
			t.Errorf("site %s turns automatic TLS off", addr)
		}
	}
	if wildcard == "" {
		t.Fatalf("no wildcard site for the apps: %v", sites)
	}
	if !slices.ContainsFunc(sites[wildcard], func(d string) bool { return d == "tls {" }) {
		t.Errorf("wildcard site %s has no tls block for the DNS challenge", wildcard)
	}
	if !strings.Contains(read(t, "Caddyfile"), "dns ") {
		t.Error("no dns challenge for the wildcard certificate")
	}
}

func TestSystemdUnit(t *testing.T) {
	src := read(t, "picloud.service")
	sections := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			sections[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("picloud.service:%d: %q is no key=value in a section", i+1, line)
			}
			sections[section][k] = append(sections[section][k], v)
		}
	}
	svc := sections["Service"]
	if svc == nil || sections["Unit"] == nil || sections["Install"] == nil {
		t.Fatalf("sections %v, want Unit, Service and Install", sections)
	}
	hardening := map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictNamespaces": "yes",
		"MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native", "DynamicUser": "yes",
		"StateDirectory": "picloud", "KillMode": "mixed",
	}
	for k, want := range hardening {
		if got := svc[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%v, want %q", k, got, want)
		}
	}
	exec0 := strings.Fields(svc["ExecStart"][0])
	if len(exec0) < 2 || !filepath.IsAbs(exec0[0]) || exec0[1] != "serve" {
		t.Errorf("ExecStart=%v, want an absolute path to picloud serve", exec0)
	}

	// systemd's own check, where systemd is installed. It needs the
	// program to exist: point ExecStart at one that does.
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: skipped its check")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "picloud.service")
	if err := os.WriteFile(unit, []byte(strings.Replace(src, "ExecStart="+exec0[0], "ExecStart="+self, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// verify exits 0 on unknown keys and bad values; it only says so.
	if err != nil || strings.Contains(string(out), unit) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
