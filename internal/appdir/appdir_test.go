package appdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/appdir"
)

const handler = `
import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "ok")
}
`

// writeDir makes a folder with files (name -> content).
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDir(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"greet.go": "package main\n\n//picloud:route GET /greet/:name\n//picloud:route get /greet/:name\n" + handler,
		"users.go": "// Users.\n//picloud:name people\n//picloud:route POST /users\npackage main\n" + handler,
		"plain.go": "package main\n" + handler + "\nconst s = `//picloud:route GET /in-a-string`\n",
		// Not scripts: tests, hidden and editor files, other files.
		"greet_test.go": "package main",
		".#greet.go":    "lock",
		"_draft.go":     "package main",
		"notes.txt":     "hello",
		appdir.ConfigFile: `
app = "shop"

script "greet" {
  routes = ["GET /hello", "GET /greet/:name"]
}
script "people" {
  routes = ["GET /users/:id"]
}
`,
	})
	app, err := appdir.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "shop" || app.Dir != dir {
		t.Errorf("app %q in %q, want shop in %q", app.Name, app.Dir, dir)
	}
	got := map[string][]string{}
	for _, s := range app.Scripts {
		var keys []string
		for _, r := range s.Routes {
			keys = append(keys, r.Key())
		}
		got[s.Name] = keys
		if s.Source == "" || !strings.HasSuffix(s.File, ".go") {
			t.Errorf("script %s: file %q, %d bytes of source", s.Name, s.File, len(s.Source))
		}
	}
	want := map[string]string{
		"greet":  "GET /greet/:name,GET /hello",
		"people": "POST /users,GET /users/:id",
		"plain":  "",
	}
	if len(got) != len(want) {
		t.Fatalf("scripts %v, want %v", got, want)
	}
	for name, w := range want {
		if g := strings.Join(got[name], ","); g != w {
			t.Errorf("routes of %s = %q, want %q", name, g, w)
		}
	}
	if r := app.Script("greet").Routes[0]; r.Pos.String() != filepath.Join(dir, "greet.go")+":3:1" {
		t.Errorf("route declared at %s, want greet.go:3:1", r.Pos)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // each a file:line:col: message fragment
	}{
		{"bad method", map[string]string{"a.go": "package main\n\n//picloud:route FETCH /x\n"},
			[]string{"a.go:3:1: method \"FETCH\" is not supported"}},
		{"bad path", map[string]string{"a.go": "package main\n//picloud:route GET /api/x\n"},
			[]string{"a.go:2:1: ", "reserved"}},
		{"route without path", map[string]string{"a.go": "package main\n//picloud:route GET\n"},
			[]string{"a.go:2:1: route \"GET\" must be \"METHOD /path\""}},
		{"unknown directive", map[string]string{"a.go": "package main\n  //picloud:routes GET /x\n"},
			[]string{"a.go:2:3: unknown directive //picloud:routes"}},
		{"two names", map[string]string{"a.go": "//picloud:name x\n//picloud:name y\npackage main\n"},
			[]string{"a.go:2:1: a second //picloud:name"}},
		{"bad name", map[string]string{"a.go": "//picloud:name no spaces allowed\npackage main\n"},
			[]string{"a.go:1:1: script name \"no spaces allowed\""}},
		{"bad file name", map[string]string{"my script.go": "package main\n"},
			[]string{"my script.go:1:1: script name \"my script\"", "//picloud:name"}},
		{"duplicate name", map[string]string{"a.go": "package main\n", "b.go": "//picloud:name a\npackage main\n"},
			[]string{"b.go: script \"a\" is also in"}},
		{"config names a missing script", map[string]string{"a.go": "package main\n", appdir.ConfigFile: "\nscript \"nope\" {\n  routes = []\n}\n"},
			[]string{"picloud.hcl:2:1: script \"nope\" is not in this folder"}},
		{"config with a bad route", map[string]string{"a.go": "package main\n", appdir.ConfigFile: "script \"a\" {\n  routes = [\"GET nope\"]\n}\n"},
			[]string{"picloud.hcl:1:1: ", "must start with \"/\""}},
		{"config with an unknown key", map[string]string{"a.go": "package main\n", appdir.ConfigFile: "ap = \"x\"\n"},
			[]string{"picloud.hcl:1:1: Unsupported argument"}},
		{"config that does not parse", map[string]string{"a.go": "package main\n", appdir.ConfigFile: "app = \n"},
			[]string{"picloud.hcl:1:"}},
		{"every problem at once", map[string]string{"a.go": "//picloud:route X /\npackage main\n", "b.go": "//picloud:route GET x\npackage main\n"},
			[]string{"a.go:1:1: method", "b.go:1:1: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := appdir.LoadDir(writeDir(t, tt.files))
			var errs appdir.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("LoadDir = %v, want Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors lack %q:\n%s", w, err)
				}
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"a.go":            "package main\n",
		"b.go":            "package main\n",
		appdir.ConfigFile: "app = \"x\"\nscript \"a\" {\n  routes = [\"GET /a\"]\n}\nscript \"b\" {\n  routes = [\"GET /b\"]\n}\n",
	})
	app, err := appdir.LoadFiles([]string{filepath.Join(dir, "a.go")})
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Scripts) != 1 || app.Name != "x" || len(app.Scripts[0].Routes) != 1 || app.Scripts[0].Routes[0].Path != "/a" {
		t.Fatalf("LoadFiles(a.go) = %+v", app)
	}
	if _, err := appdir.LoadFiles([]string{filepath.Join(dir, "picloud.hcl")}); err == nil {
		t.Error("a file that is not .go was taken as a script")
	}
	if _, err := appdir.LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .go files") {
		t.Errorf("empty folder: %v", err)
	}
}
