package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/picloud/picloud/internal/apiclient"
)

// apiTokenPrefix starts every API token (admin.APITokenPrefix); a stored
// token without it is a session.
const apiTokenPrefix = "pic_"

func loginCmd(g *globals) *cobra.Command {
	var username string
	var passwordStdin, withToken bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a server and keep the session for the other commands",
		Long: `Log in to a PiCloud server with a username and password and keep the
session token in the user's config dir (readable by you alone), for the
other commands to use. What is not given is asked for; the password is
never echoed. A session lasts 24 hours past its last use.

The server is --server, else $PICLOUD_SERVER, else the one logged in to
last, else ` + DefaultServer + `. $PICLOUD_TOKEN, when set, is used
instead of any stored login (for CI, with an API token from
` + "`picloud tokens create`" + `).`,
		Example: `  picloud login
  picloud login --server https://admin.example.com --username admin   # the admin host
  echo "$PASSWORD" | picloud login --username admin --password-stdin
  picloud login --with-token < token.txt     # keep an API token instead`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if withToken && (passwordStdin || username != "") {
				return errors.New("--with-token takes the token from stdin: no --username or --password-stdin with it")
			}
			return g.login(cmd, username, passwordStdin, withToken)
		},
	}
	g.clientFlags(cmd, false)
	cmd.Flags().StringVarP(&username, "username", "u", "", "username (asked for when not given)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	cmd.Flags().BoolVar(&withToken, "with-token", false, "read an API token from stdin and keep it instead of logging in")
	return cmd
}

func (g *globals) login(cmd *cobra.Command, username string, passwordStdin, withToken bool) error {
	ctx := cmd.Context()
	server, err := g.serverURL()
	if err != nil {
		return err
	}
	c := apiclient.New(server, "")
	c.UserAgent = "picloud-cli/" + g.env.Version
	if _, err := c.ServerInfo(ctx); err != nil {
		return err
	}
	var sess *apiclient.Session
	if withToken {
		sess, err = g.checkToken(ctx, cmd, c)
	} else {
		sess, err = g.passwordLogin(ctx, cmd, c, username, passwordStdin)
	}
	if err != nil {
		return err
	}
	creds, err := g.loadCredentials()
	if err != nil {
		return err
	}
	cred := credential{Username: sess.User.Username, Token: sess.Token}
	if !sess.ExpiresAt.IsZero() {
		cred.ExpiresAt = &sess.ExpiresAt
	}
	creds.Servers[server] = cred
	creds.Default = server
	if err := g.saveCredentials(creds); err != nil {
		return err
	}
	path, _ := g.credentialsPath()
	fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s as %s (saved in %s).\n", server, sess.User.Username, path)
	if g.env.Getenv(EnvToken) != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: %s is set and is used instead of this login until you unset it.\n", EnvToken)
	}
	return nil
}

// passwordLogin asks for what is missing and logs in.
func (g *globals) passwordLogin(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, username string, passwordStdin bool) (*apiclient.Session, error) {
	in := cmd.InOrStdin()
	tty := isTerminal(in)
	if username == "" {
		if !tty || passwordStdin {
			return nil, errors.New("no username: give --username")
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Username: ")
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return nil, fmt.Errorf("read username: %w", err)
		}
		username = strings.TrimSpace(line)
	}
	var password string
	switch {
	case passwordStdin:
		b, err := io.ReadAll(io.LimitReader(in, 64<<10))
		if err != nil {
			return nil, fmt.Errorf("read password from stdin: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	case tty:
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		b, err := term.ReadPassword(int(in.(*os.File).Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		password = string(b)
	default:
		return nil, errors.New("stdin is no terminal to ask for the password: pipe it in with --password-stdin")
	}
	if password == "" {
		return nil, errors.New("empty password")
	}
	return c.Login(ctx, username, password)
}

// checkToken reads an API (or session) token from stdin and asks the
// server whose it is.
func (g *globals) checkToken(ctx context.Context, cmd *cobra.Command, c *apiclient.Client) (*apiclient.Session, error) {
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4<<10))
	if err != nil {
		return nil, fmt.Errorf("read token from stdin: %w", err)
	}
	c.Token = strings.TrimSpace(string(b))
	if c.Token == "" {
		return nil, errors.New("no token on stdin")
	}
	sess, err := c.Me(ctx)
	if err != nil {
		return nil, fmt.Errorf("check the token: %w", err)
	}
	sess.Token = c.Token
	if sess.APIToken != nil {
		sess.ExpiresAt = derefTime(sess.APIToken.ExpiresAt)
	}
	return sess, nil
}

func logoutCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "End the stored session and forget it",
		Long: `End the session stored for the server (--server, $PICLOUD_SERVER or the
last one logged in to) and remove it from the credentials file. A
stored API token is forgotten but stays valid: revoke it with
` + "`picloud tokens revoke`" + `.`,
		Example: `  picloud logout
  picloud logout --server https://admin.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.logout(cmd)
		},
	}
	g.clientFlags(cmd, false)
	return cmd
}

func (g *globals) logout(cmd *cobra.Command) error {
	server, err := g.serverURL()
	if err != nil {
		return err
	}
	creds, err := g.loadCredentials()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	cred, ok := creds.Servers[server]
	switch {
	case !ok:
		fmt.Fprintf(out, "Not logged in to %s.\n", server)
	case strings.HasPrefix(cred.Token, apiTokenPrefix):
		fmt.Fprintf(out, "Forgot the API token for %s; it stays valid until revoked (picloud tokens revoke).\n", server)
	default:
		c := apiclient.New(server, cred.Token)
		c.UserAgent = "picloud-cli/" + g.env.Version
		if err := c.Logout(cmd.Context()); err != nil && !apiclient.IsStatus(err, http.StatusUnauthorized) {
			return fmt.Errorf("end the session on %s: %w", server, err)
		}
		fmt.Fprintf(out, "Logged out of %s.\n", server)
	}
	if ok {
		delete(creds.Servers, server)
		if creds.Default == server {
			creds.Default = ""
		}
		if err := g.saveCredentials(creds); err != nil {
			return err
		}
	}
	if g.env.Getenv(EnvToken) != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: %s is still set in your environment.\n", EnvToken)
	}
	return nil
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
