package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

// runPicloud runs the binary to completion and returns its combined
// output and exit code.
func runPicloud(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(picloudBin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("run picloud %v: %v", args, err)
		}
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	badKey := filepath.Join(dir, "bad.hcl")
	badValue := filepath.Join(dir, "value.hcl")
	if err := os.WriteFile(badKey, []byte("server {\n  lisen = \"127.0.0.1:0\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badValue, []byte("executor {\n  timeout = \"fast\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{"version", nil, []string{"version"}, 0, []string{"picloud ", "api v1", "sdk v2"}},
		{"unknown command", nil, []string{"frobnicate"}, 1, []string{`unknown command "frobnicate"`, "picloud --help"}},
		{"legacy -config flag", nil, []string{"serve", "-config", badKey}, 1, []string{"bad.hcl:2,3", `unknown key "lisen"`}},
		{"config on the bare command", nil, []string{"--config", badKey}, 1, []string{"bad.hcl:2,3"}},
		{"help lists both halves", nil, []string{"--help"}, 0, []string{"Server commands:", "serve", "worker", "Client commands:", "deploy", "dev", "completion"}},
		{"completion", nil, []string{"completion", "bash"}, 0, []string{"__start_picloud"}},
		{"unknown key", nil, []string{"serve", "--config", badKey}, 1, []string{"bad.hcl:2,3", `unknown key "lisen"`, `did you mean "listen"`}},
		{"bad value", nil, []string{"serve", "--config", badValue}, 1, []string{"value.hcl:2,", "timeout", `"fast"`}},
		{"missing file", nil, []string{"serve", "--config", filepath.Join(dir, "none.hcl")}, 1, []string{"none.hcl"}},
		{"bad env", []string{"PICLOUD_LISTEN=nonsense"}, []string{"serve"}, 1, []string{"PICLOUD_LISTEN"}},
		{"worker by hand", nil, []string{"worker"}, 4, []string{"started by `picloud serve`"}},
		{"bad database url", []string{"PICLOUD_DATABASE_URL=mysql://x"}, []string{"migrate"}, 1, []string{"database"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runPicloud(t, append(tt.env, "PICLOUD_DATA_DIR="+t.TempDir()), tt.args...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Fatalf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestMigrateCommand(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		env := []string{"PICLOUD_DATA_DIR=" + tg.DataDir, "PICLOUD_DATABASE_URL=" + tg.URL}
		for range 2 { // migrating twice is a no-op the second time
			out, code := runPicloud(t, env, "migrate")
			if code != 0 || !strings.Contains(out, "migrations applied") {
				t.Fatalf("migrate: exit %d:\n%s", code, out)
			}
		}
	})
}
