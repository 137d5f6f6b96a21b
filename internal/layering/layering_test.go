package layering_test

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/picloud/picloud/"

// forbidden lists, per package, the packages it must never import
// directly (DESIGN §2).
var forbidden = map[string][]string{
	"ingress": {"models", "sandbox", "admin"},
	"sandbox": {"models", "ingress", "actors", "admin"},
	"actors":  {"admin", "models", "ingress"},
	"worker":  {"actors", "admin", "models", "ingress"},
	"admin":   {"actors", "ingress"},
	"models":  {"admin", "ingress", "actors", "sandbox", "worker"},
	"engine":  {"actors", "worker", "admin", "models", "ingress"},
}

// neverLinked lists, per package, import path prefixes that must not be
// anywhere in its dependencies: the `picloud worker` child links no
// actor runtime.
var neverLinked = map[string][]string{
	"worker": {module + "actors", "github.com/asynkron/"},
	"engine": {module + "actors", "github.com/asynkron/"},
}

func TestImportRules(t *testing.T) {
	pkgs := modulePackages(t)
	for pkg := range forbidden {
		if _, ok := pkgs[pkg]; !ok {
			t.Errorf("package %s not found", pkg)
		}
	}
	// The rules hold for rooms, not just their top package: ingress/x may
	// not import sandbox/sdk either.
	room := func(rel string) string { r, _, _ := strings.Cut(rel, "/"); return r }
	for pkg, imports := range pkgs {
		bad := forbidden[room(pkg)]
		for _, imp := range imports {
			if rel, ok := strings.CutPrefix(imp, module); ok && slices.Contains(bad, room(rel)) {
				t.Errorf("%s imports %s", pkg, rel)
			}
		}
	}
	for pkg, bad := range neverLinked {
		for _, path := range dependencyPaths(pkgs, pkg) {
			for _, prefix := range bad {
				if strings.HasPrefix(path[len(path)-1], prefix) {
					t.Errorf("%s links %s through %s", pkg, path[len(path)-1], strings.Join(path, " -> "))
				}
			}
		}
	}
}

// modulePackages returns the non-test imports of every package of the
// module by its path relative to the module root, as a default build of
// this platform sees them.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	pkgs := map[string][]string{}
	err = filepath.WalkDir(root, func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); dir != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(dir, 0)
		if err != nil {
			return nil // no Go files for this platform
		}
		rel, _ := filepath.Rel(root, dir)
		pkgs[filepath.ToSlash(rel)] = p.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// dependencyPaths returns, for every import reachable from pkg, one
// chain of imports from pkg to it. Imports outside the module are
// leaves: what they import in turn is not followed.
func dependencyPaths(pkgs map[string][]string, pkg string) [][]string {
	var out [][]string
	seen := map[string]bool{}
	var walk func(path []string)
	walk = func(path []string) {
		for _, imp := range pkgs[strings.TrimPrefix(path[len(path)-1], module)] {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			next := append(slices.Clone(path), imp)
			out = append(out, next)
			if strings.HasPrefix(imp, module) {
				walk(next)
			}
		}
	}
	walk([]string{module + pkg})
	return out
}
