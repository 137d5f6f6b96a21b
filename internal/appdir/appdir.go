// Package appdir reads an app from a folder on disk, the way `picloud
// deploy DIR` and `picloud dev DIR` see it: one .go file per script, its
// name from the file name or a //picloud:name comment, its routes from
// //picloud:route comments and from an optional picloud.hcl beside the
// files. It does no I/O beyond reading those files and knows nothing of
// servers.
package appdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// ConfigFile is the optional file of a folder that names its app and adds
// routes.
const ConfigFile = "picloud.hcl"

// Position is a place in a file, printed as file:line:col (the form
// editors and terminals make clickable).
type Position struct {
	File   string
	Line   int
	Column int
}

func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error is a problem at a position.
type Error struct {
	Pos Position
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors are every problem found in a folder, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Route is a method and path a script is bound to, and where it was
// declared.
type Route struct {
	Method string
	Path   string
	Pos    Position
}

// Key is "METHOD /path", the route's identity within an app.
func (r Route) Key() string { return r.Method + " " + r.Path }

// Script is one script of the folder.
type Script struct {
	// Name is the script's name in its app.
	Name string
	// File is the path of its source, as given or joined to the folder.
	File   string
	Source string
	// Routes are the routes declared for it, in the order declared,
	// without duplicates.
	Routes []Route
}

// App is what a folder (or a list of files) holds.
type App struct {
	// Dir is the folder; for a list of files, the folder of the first.
	Dir string
	// Name is the app's slug from picloud.hcl, "" when it names none.
	Name    string
	Scripts []Script
}

// Script returns the script called name, or nil.
func (a *App) Script(name string) *Script {
	for i := range a.Scripts {
		if a.Scripts[i].Name == name {
			return &a.Scripts[i]
		}
	}
	return nil
}

// IsScriptFile reports whether name (a file name, no folder) is a script
// of a folder: a .go file, not a test, not hidden or an editor's scratch
// file (Go's own rule: names starting with "." or "_" are ignored).
func IsScriptFile(name string) bool {
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") &&
		!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, "#")
}

// LoadDir reads the scripts of dir (not its subfolders) and its
// picloud.hcl. Problems in the files come back together as Errors.
func LoadDir(dir string) (*App, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read app folder: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && IsScriptFile(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no .go files (one per script)", dir)
	}
	return load(dir, files, false)
}

// LoadFiles reads the given script files and the picloud.hcl of the
// folder of the first, if there is one.
func LoadFiles(files []string) (*App, error) {
	if len(files) == 0 {
		return nil, errors.New("no files given")
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".go") {
			return nil, fmt.Errorf("%s: a script is a .go file", f)
		}
	}
	return load(filepath.Dir(files[0]), files, true)
}

// load reads files of dir; partial says they may be some of its scripts
// only (then picloud.hcl may name others).
func load(dir string, files []string, partial bool) (*App, error) {
	app := &App{Dir: dir}
	var errs Errors
	for _, f := range files {
		s, err := ReadScript(f)
		if err != nil {
			var es Errors
			if errors.As(err, &es) {
				errs = append(errs, es...)
				continue
			}
			return nil, err
		}
		if prev := app.Script(s.Name); prev != nil {
			errs = append(errs, &Error{Pos: Position{File: f}, Msg: fmt.Sprintf("script %q is also in %s; script names are unique in an app", s.Name, prev.File)})
			continue
		}
		app.Scripts = append(app.Scripts, s)
	}
	cfgErrs, err := app.readConfig(filepath.Join(dir, ConfigFile), partial)
	if err != nil {
		return nil, err
	}
	errs = append(errs, cfgErrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	sort.Slice(app.Scripts, func(i, j int) bool { return app.Scripts[i].Name < app.Scripts[j].Name })
	return app, nil
}

// addRoute adds r to s unless s has it already.
func (s *Script) addRoute(r Route) {
	if !slices.ContainsFunc(s.Routes, func(x Route) bool { return x.Key() == r.Key() }) {
		s.Routes = append(s.Routes, r)
	}
}
