package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/appdir"
)

func deployCmd(g *globals) *cobra.Command {
	var app, message string
	var routes []string
	var prune bool
	cmd := &cobra.Command{
		Use:   "deploy DIR | FILE.go...",
		Short: "Deploy scripts from files or a folder, bind their routes",
		Long: `Deploy creates or updates a script per .go file and binds its routes,
then prints each script's live version and the URLs it answers on.

A script's name is its file name without .go, or a //picloud:name NAME
comment. Its routes are //picloud:route METHOD /path comments, the
routes of its block in a picloud.hcl beside the files, and --route
flags (with one file). A script that declares routes gets exactly
those; one that declares none keeps the routes it has.

A folder holds one app: its slug is --app, else app = "..." in its
picloud.hcl, else the folder's name; the app is created if needed.
Files go to --app, else their folder's picloud.hcl app, else the
server's default app.

Deploying is idempotent: a file whose source is live already makes no
new version. -m gives every version the deploy makes a message, shown
with the script's versions. A script of the app whose file is gone is left alone
unless --prune. A file that does not compile keeps its live version; the
errors are printed as file.go:LINE:COL: message and deploy exits 1.

picloud.hcl:

  app = "shop"
  script "greet" {
    routes = ["GET /greet/:name", "POST /greet"]
  }`,
		Example: `  picloud deploy ./shop
  picloud deploy ./shop --prune
  picloud deploy greet.go --route "GET /greet/:name"
  picloud deploy greet.go users.go --app shop
  picloud deploy ./shop -m "fix the cart totals"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.deploy(cmd, args, routes, app, message, prune)
		},
	}
	g.clientFlags(cmd, false)
	cmd.Flags().StringVarP(&app, "app", "a", "", "the app to deploy to (slug)")
	cmd.Flags().StringArrayVarP(&routes, "route", "r", nil, `route to bind, "METHOD /path" (repeatable; one file only)`)
	cmd.Flags().StringVarP(&message, "message", "m", "", "a message for the versions this deploy makes (up to 500 bytes)")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete the app's scripts that have no file in the folder")
	_ = cmd.RegisterFlagCompletionFunc("app", g.completeApps)
	return cmd
}

// maxMessage mirrors the server's bound on a version's message, in bytes.
const maxMessage = 500

// deployTarget is what a deploy command names: a folder or files.
type deployTarget struct {
	app    *appdir.App
	folder bool
}

// readTarget reads the folder or files args name, adding the --route
// flags.
func readTarget(args, routes []string) (*deployTarget, error) {
	info, err := os.Stat(args[0])
	if err != nil {
		return nil, err
	}
	t := &deployTarget{folder: info.IsDir()}
	if t.folder {
		if len(args) > 1 {
			return nil, errors.New("deploy one folder, or .go files: not both")
		}
		if len(routes) > 0 {
			return nil, errors.New("--route goes with one file; in a folder, declare routes in the files or picloud.hcl")
		}
		t.app, err = appdir.LoadDir(args[0])
	} else {
		if len(routes) > 0 && len(args) > 1 {
			return nil, errors.New("--route goes with one file: declare the routes of several with //picloud:route comments")
		}
		t.app, err = appdir.LoadFiles(args)
	}
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		route, err := appdir.ParseRoute(r, appdir.Position{File: "--route"})
		if err != nil {
			return nil, err
		}
		s := &t.app.Scripts[0]
		s.Routes = append(s.Routes, route)
	}
	return t, nil
}

// appSlug decides which app a deploy goes to.
func appSlug(ctx context.Context, c *apiclient.Client, t *deployTarget, flag string) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case t.app.Name != "":
		return t.app.Name, nil
	case t.folder:
		abs, err := filepath.Abs(t.app.Dir)
		if err != nil {
			return "", err
		}
		name := filepath.Base(abs)
		if !validSlug(name) {
			return "", fmt.Errorf("the folder name %q is no app slug (lowercase letters, digits and '-'): give --app, or app = \"...\" in %s", name, appdir.ConfigFile)
		}
		return name, nil
	}
	s, err := siteOf(ctx, c)
	if err != nil {
		return "", err
	}
	if s.defaultApp == "" {
		return "", errors.New("the server has no default app: give --app")
	}
	return s.defaultApp, nil
}

func (g *globals) deploy(cmd *cobra.Command, args, routes []string, appFlag, message string, prune bool) error {
	ctx := cmd.Context()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	t, err := readTarget(args, routes)
	if err != nil {
		return reportLoadError(err, errOut)
	}
	if n := len(strings.TrimSpace(message)); n > maxMessage {
		return fmt.Errorf("--message is %d bytes: at most %d", n, maxMessage)
	}
	if prune && !t.folder {
		return errors.New("--prune goes with a folder: it deletes the scripts the folder does not hold")
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	slug, err := appSlug(ctx, c, t, appFlag)
	if err != nil {
		return err
	}
	d, err := newAppDeployer(ctx, c, slug, true, out)
	if err != nil {
		return err
	}
	d.message = message
	results, err := d.deploy(ctx, t.app)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "App %s on %s:\n", d.app.Slug, cmp.Or(d.site.appURL(d.app.Slug), c.BaseURL))
	d.report(results, out, errOut)
	if t.folder {
		if err := d.prune(ctx, t.app, prune, out); err != nil {
			return err
		}
	}
	if n := failed(results); n > 0 {
		fmt.Fprintf(errOut, "%d of %d scripts had problems; a script that did not compile keeps its live version.\n", n, len(results))
		return errSilent
	}
	return nil
}

// reportLoadError prints a folder's problems as file:line:col lines and
// returns errSilent, or returns any other error as it is.
func reportLoadError(err error, errOut io.Writer) error {
	var errs appdir.Errors
	if errors.As(err, &errs) {
		fmt.Fprintln(errOut, errs.Error())
		return errSilent
	}
	var one *appdir.Error
	if errors.As(err, &one) {
		fmt.Fprintln(errOut, one.Error())
		return errSilent
	}
	return err
}

// validSlug mirrors the server's rule for app slugs: a lowercase DNS
// label, not all digits.
func validSlug(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == "" && strings.Trim(s, "0123456789") != ""
}
