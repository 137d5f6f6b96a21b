package cli

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/appdir"
)

// appDeployer makes an app on a server match a folder: it creates and
// updates scripts, and binds and unbinds their declared routes. It
// remembers what is live, so a second deploy (every save in `picloud
// dev`) sends only what changed: an unchanged file costs no request.
type appDeployer struct {
	c *apiclient.Client
	// message goes with every version the deploy makes ("" for none).
	message string
	app     apiclient.App
	site    *site
	// live are the app's scripts by name; routes are the app's routes.
	live   map[string]*liveScript
	routes []apiclient.Route
}

// liveScript is what is known of a script on the server.
type liveScript struct {
	id      int64
	version int64
	// hash is the SHA-256 of the live source; "" until fetched.
	hash string
}

// Outcomes of deploying one script.
const (
	outcomeCreated   = "created"
	outcomeUpdated   = "updated"
	outcomeUnchanged = "unchanged"
	outcomeFailed    = "failed"
)

// scriptResult is what deploying one script did.
type scriptResult struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	ID      int64  `json:"id,omitempty"`
	Version int64  `json:"version,omitempty"`
	Outcome string `json:"outcome"`
	// Problems are the compile or route errors, as file:line:col: message.
	Problems []string `json:"problems,omitempty"`
}

// newAppDeployer loads what the server holds of app slug, creating the
// app when create is set and it does not exist (saying so on out).
func newAppDeployer(ctx context.Context, c *apiclient.Client, slug string, create bool, out io.Writer) (*appDeployer, error) {
	app, err := c.App(ctx, slug)
	if apiclient.IsStatus(err, http.StatusNotFound) && create {
		app, err = c.CreateApp(ctx, slug, "")
		if err == nil {
			fmt.Fprintf(out, "Created app %s.\n", app.Slug)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", slug, err)
	}
	s, err := siteOf(ctx, c)
	if err != nil {
		return nil, err
	}
	d := &appDeployer{c: c, app: *app, site: s, live: map[string]*liveScript{}}
	return d, d.refresh(ctx)
}

// refresh reloads the app's scripts and routes.
func (d *appDeployer) refresh(ctx context.Context) error {
	scripts, err := d.c.Scripts(ctx, d.app.Slug)
	if err != nil {
		return err
	}
	live := map[string]*liveScript{}
	for _, s := range scripts {
		ls := &liveScript{id: s.ID, version: s.LiveVersion}
		if old := d.live[s.Name]; old != nil && old.id == s.ID && old.version == s.LiveVersion {
			ls.hash = old.hash
		}
		live[s.Name] = ls
	}
	d.live = live
	d.routes, err = d.c.AppRoutes(ctx, d.app.Slug)
	return err
}

func sourceHash(src string) string {
	sum := sha256.Sum256([]byte(src))
	return hex.EncodeToString(sum[:])
}

// deploy makes the app match a: every script of a is created or
// updated; each script that declares routes gets exactly those (routes
// moving between scripts are unbound before any is bound). A script
// that does not compile keeps its live version. The results are in the
// order of a.Scripts; err is for failures that are not the scripts'.
func (d *appDeployer) deploy(ctx context.Context, a *appdir.App) ([]scriptResult, error) {
	results := make([]scriptResult, len(a.Scripts))
	for i := range a.Scripts {
		r, err := d.deploySource(ctx, &a.Scripts[i])
		if err != nil {
			return nil, err
		}
		results[i] = r
	}
	if err := d.syncRoutes(ctx, a, results); err != nil {
		return nil, err
	}
	return results, nil
}

// deploySource creates or updates one script unless its live source is
// the same.
func (d *appDeployer) deploySource(ctx context.Context, s *appdir.Script) (scriptResult, error) {
	r := scriptResult{Name: s.Name, File: s.File}
	hash := sourceHash(s.Source)
	ls := d.live[s.Name]
	if ls != nil && ls.hash == "" {
		got, err := d.c.Script(ctx, ls.id)
		if err != nil {
			return r, fmt.Errorf("script %s: %w", s.Name, err)
		}
		ls.version, ls.hash = got.Version, got.Hash
	}
	var got *apiclient.ScriptVersion
	var err error
	switch {
	case ls != nil && ls.hash == hash:
		r.ID, r.Version, r.Outcome = ls.id, ls.version, outcomeUnchanged
		return r, nil
	case ls != nil:
		got, err = d.c.UpdateScript(ctx, ls.id, s.Source, d.message)
		r.Outcome = outcomeUpdated
	default:
		got, err = d.c.CreateScript(ctx, d.app.Slug, s.Name, s.Source, d.message)
		r.Outcome = outcomeCreated
	}
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnprocessableEntity || apiErr.Status == http.StatusBadRequest) {
		r.Outcome = outcomeFailed
		r.Problems = []string{compileProblem(s.File, apiErr)}
		if ls != nil {
			r.ID, r.Version = ls.id, ls.version
		}
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("deploy %s: %w", s.File, err)
	}
	if ls != nil && got.Version == ls.version {
		r.Outcome = outcomeUnchanged
	}
	d.live[s.Name] = &liveScript{id: got.ID, version: got.Version, hash: got.Hash}
	r.ID, r.Version = got.ID, got.Version
	return r, nil
}

// lineColumn is the "line L, column C: " the server puts before a
// compile error's message.
var lineColumn = regexp.MustCompile(`^line \d+, column \d+: `)

// compileProblem prints an API error about file's source as
// file:line:col: message.
func compileProblem(file string, e *apiclient.Error) string {
	msg := lineColumn.ReplaceAllString(e.Message, "")
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", file, e.Line, max(e.Column, 1), msg)
	}
	if e.Field != "" && e.Field != "source" {
		msg = e.Field + ": " + msg
	}
	return fmt.Sprintf("%s: %s", file, msg)
}

// syncRoutes gives every deployed script that declares routes exactly
// those: all removals first, so a route can move from one script to
// another in one deploy, then the additions.
func (d *appDeployer) syncRoutes(ctx context.Context, a *appdir.App, results []scriptResult) error {
	var remove []apiclient.Route
	type addition struct {
		result *scriptResult
		route  appdir.Route
	}
	var add []addition
	for i := range a.Scripts {
		s, r := &a.Scripts[i], &results[i]
		if len(s.Routes) == 0 || r.ID == 0 {
			continue
		}
		want := map[string]bool{}
		for _, rt := range s.Routes {
			want[rt.Key()] = true
		}
		have := map[string]bool{}
		for _, rt := range d.routes {
			if rt.ScriptID != r.ID {
				continue
			}
			key := rt.Method + " " + rt.Path
			have[key] = true
			if !want[key] {
				remove = append(remove, rt)
			}
		}
		for _, rt := range s.Routes {
			if !have[rt.Key()] {
				add = append(add, addition{r, rt})
			}
		}
	}
	for _, rt := range remove {
		if err := d.c.DeleteRoute(ctx, rt.ID); err != nil && !apiclient.IsStatus(err, http.StatusNotFound) {
			return fmt.Errorf("unbind %s %s: %w", rt.Method, rt.Path, err)
		}
		d.routes = slices.DeleteFunc(d.routes, func(x apiclient.Route) bool { return x.ID == rt.ID })
	}
	for _, x := range add {
		created, err := d.c.CreateRoute(ctx, x.result.ID, x.route.Method, x.route.Path)
		var apiErr *apiclient.Error
		if errors.As(err, &apiErr) && apiErr.Status < 500 {
			x.result.Problems = append(x.result.Problems, fmt.Sprintf("%s: route %s: %s", x.route.Pos, x.route.Key(), apiErr.Message))
			continue
		}
		if err != nil {
			return fmt.Errorf("bind %s: %w", x.route.Key(), err)
		}
		d.routes = append(d.routes, *created)
	}
	return nil
}

// routesOf returns the routes bound to script id, as "METHOD path".
func (d *appDeployer) routesOf(id int64) []apiclient.Route {
	var out []apiclient.Route
	for _, r := range d.routes {
		if r.ScriptID == id {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b apiclient.Route) int { return strings.Compare(a.Path+a.Method, b.Path+b.Method) })
	return out
}

// prune deletes the app's scripts that a does not hold, or, without
// doit, says which they are.
func (d *appDeployer) prune(ctx context.Context, a *appdir.App, doit bool, out io.Writer) error {
	var names []string
	for name := range d.live {
		if a.Script(name) == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if !doit {
			fmt.Fprintf(out, "  %s is not in the folder: left alone (--prune deletes it)\n", name)
			continue
		}
		if err := d.c.DeleteScript(ctx, d.live[name].id); err != nil {
			return fmt.Errorf("prune %s: %w", name, err)
		}
		delete(d.live, name)
		fmt.Fprintf(out, "  %s deleted (not in the folder)\n", name)
	}
	if doit && len(names) > 0 {
		var err error
		d.routes, err = d.c.AppRoutes(ctx, d.app.Slug)
		return err
	}
	return nil
}

// report prints the results: one line per script, its routes and URLs
// below, and problems as file:line:col: message on errOut.
func (d *appDeployer) report(results []scriptResult, out, errOut io.Writer) {
	width := 0
	for _, r := range results {
		width = max(width, len(r.Name))
	}
	for _, r := range results {
		version := "-"
		if r.Version > 0 {
			version = fmt.Sprintf("v%d", r.Version)
		}
		fmt.Fprintf(out, "  %-*s  %-4s %s\n", width, r.Name, version, r.Outcome)
		for _, rt := range d.routesOf(r.ID) {
			url := d.site.routeURL(d.app.Slug, rt.Path)
			fmt.Fprintf(out, "  %-*s    %-6s %s\n", width, "", rt.Method, cmp.Or(url, rt.Path))
		}
	}
	for _, r := range results {
		for _, p := range r.Problems {
			fmt.Fprintln(errOut, p)
		}
	}
}

// failed counts the results with problems.
func failed(results []scriptResult) int {
	n := 0
	for _, r := range results {
		if len(r.Problems) > 0 {
			n++
		}
	}
	return n
}
