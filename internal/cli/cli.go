// Package cli owns PiCloud's client commands, the part of the picloud
// binary a developer runs against a server: login and logout, API
// tokens, apps, secrets, scripts, routes, deploy, logs, invoke and the
// dev loop.
// They speak only the admin API, through package apiclient; the server
// commands (serve, migrate, worker) live in cmd/picloud, which adds
// these to its root command.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

// Environment variables the client commands read.
const (
	// EnvServer names the server, over the one logged in to last.
	EnvServer = "PICLOUD_SERVER"
	// EnvToken is a session or API token used instead of the stored one.
	EnvToken = "PICLOUD_TOKEN"
)

// DefaultServer is the server when nothing names one: the admin host of
// `picloud serve` with the defaults (admin.{base_domain} on its port),
// where the admin API answers. Names under .localhost are dialed on
// loopback (see apiclient.New), as browsers and curl do.
const DefaultServer = "http://admin.localhost:8080"

// GroupID is the help group of the client commands.
const GroupID = "client"

// Env is what the client commands need from their process.
type Env struct {
	// Version is the binary's version, sent as the user agent.
	Version string
	// Getenv reads an environment variable (os.Getenv).
	Getenv func(string) string
	// ConfigDir is the folder that keeps credentials (os.UserConfigDir).
	ConfigDir func() (string, error)
	// StartDevServer starts the throwaway server of `picloud dev`; nil
	// means dev works only with --server.
	StartDevServer func(ctx context.Context, opts DevServerOptions) (*DevServer, error)
}

// DevServerOptions configure a throwaway server.
type DevServerOptions struct {
	// DataDir holds its SQLite database.
	DataDir string
	// Listen is host:port; port 0 picks a free one.
	Listen string
	// App is the slug of the app that answers on the server's own host.
	App string
	// Username and Password make the session's admin user.
	Username, Password string
	// Log receives the server's own log (warnings and errors).
	Log io.Writer
}

// DevServer is a running throwaway server.
type DevServer struct {
	// URL is where it listens, e.g. http://127.0.0.1:41234.
	URL string
	// AdminURL is the origin of its admin host, where the admin API and
	// UI answer, e.g. http://admin.localhost:41234.
	AdminURL string
	// Stop shuts it down and waits for it.
	Stop func()
}

// Commands returns the client commands, to add to the root command.
func Commands(env Env) []*cobra.Command {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.ConfigDir == nil {
		env.ConfigDir = os.UserConfigDir
	}
	g := &globals{env: env}
	cmds := []*cobra.Command{
		loginCmd(g),
		logoutCmd(g),
		tokensCmd(g),
		appsCmd(g),
		secretsCmd(g),
		scriptsCmd(g),
		routesCmd(g),
		deployCmd(g),
		logsCmd(g),
		invokeCmd(g),
		devCmd(g),
	}
	for _, c := range cmds {
		c.GroupID = GroupID
	}
	return cmds
}

// globals are the flags every client command shares and what they
// resolve to.
type globals struct {
	env    Env
	server string
	output string
}

// Values of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// clientFlags adds --server (and, for listings, --output) to cmd and its
// subcommands.
func (g *globals) clientFlags(cmd *cobra.Command, listing bool) {
	cmd.PersistentFlags().StringVar(&g.server, "server", "", "server URL (default: $"+EnvServer+", else the one logged in to last, else "+DefaultServer+")")
	if listing {
		cmd.PersistentFlags().StringVarP(&g.output, "output", "o", outputTable, "output format: table or json")
	}
}

// jsonOutput reports whether --output json was asked for, refusing
// formats it does not know.
func (g *globals) jsonOutput() (bool, error) {
	switch g.output {
	case "", outputTable:
		return false, nil
	case outputJSON:
		return true, nil
	}
	return false, fmt.Errorf("--output %q: use table or json", g.output)
}

// serverURL resolves the server: --server, $PICLOUD_SERVER, the stored
// default, DefaultServer.
func (g *globals) serverURL() (string, error) {
	if g.server != "" {
		return normalizeServer(g.server)
	}
	if s := g.env.Getenv(EnvServer); s != "" {
		return normalizeServer(s)
	}
	creds, err := g.loadCredentials()
	if err != nil {
		return "", err
	}
	if creds.Default != "" {
		return creds.Default, nil
	}
	return DefaultServer, nil
}

// normalizeServer turns what a user typed into a base URL: a scheme
// (http:// when none), no trailing slash, no path.
func normalizeServer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	s = strings.TrimRight(s, "/")
	scheme, rest, _ := strings.Cut(s, "://")
	if (scheme != "http" && scheme != "https") || rest == "" || strings.ContainsAny(rest, "/?#") {
		return "", fmt.Errorf("server %q: want the admin host's base URL, such as https://admin.example.com or admin.localhost:8080", s)
	}
	return s, nil
}

// client returns an API client for the resolved server with the token of
// $PICLOUD_TOKEN or the stored one.
func (g *globals) client() (*apiclient.Client, error) {
	server, err := g.serverURL()
	if err != nil {
		return nil, err
	}
	token := g.env.Getenv(EnvToken)
	if token == "" {
		creds, err := g.loadCredentials()
		if err != nil {
			return nil, err
		}
		token = creds.Servers[server].Token
	}
	if token == "" {
		return nil, fmt.Errorf("not logged in to %s: run `picloud login --server %s`, or set %s", server, server, EnvToken)
	}
	c := apiclient.New(server, token)
	c.UserAgent = "picloud-cli/" + g.env.Version
	return c, nil
}

// errSilent is an error already reported to the user; main exits 1
// without printing it again.
var errSilent = errors.New("failed")

// ErrSilent reports whether err was already reported to the user.
func ErrSilent(err error) bool { return errors.Is(err, errSilent) }
