package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/appdir"
)

// settleTime is how long a folder must be quiet after a change before it
// is redeployed: an editor's save is often several writes (truncate,
// write, rename), and deploying half a file would print a compile error
// that the next write fixes.
const settleTime = 10 * time.Millisecond

// devUser is the admin user of a throwaway dev server.
const devUser = "dev"

func devCmd(g *globals) *cobra.Command {
	var app, listen string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "dev DIR",
		Short: "Serve a folder on a throwaway local server and redeploy it on every save",
		Long: `Start a throwaway PiCloud (SQLite in a temporary folder, an admin user
for the session, a free port unless --listen), deploy the folder's app
to it, and watch the folder: a saved file is live within milliseconds.
Compile errors are printed as file.go:LINE:COL: message and the last good
version keeps serving. Every call is printed as it happens, with its
status, duration and log output. The app answers on the server's own
URL. Ctrl-C stops the server and deletes its data.

With --server, dev works against a running server instead (your login
or $PICLOUD_TOKEN), and never deletes a script whose file goes away.

The folder is read as ` + "`picloud deploy DIR`" + ` reads it.`,
		Example: `  picloud dev ./shop
  picloud dev . --listen 127.0.0.1:8787
  picloud dev ./shop --server https://admin.staging.example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.dev(cmd, args[0], app, listen, verbose)
		},
	}
	g.clientFlags(cmd, false)
	cmd.Flags().StringVarP(&app, "app", "a", "", "the app's slug (default: picloud.hcl's app, else the folder's name)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "where the throwaway server listens (port 0: a free one)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the throwaway server's own log")
	return cmd
}

// devSession is one run of `picloud dev`.
type devSession struct {
	dir     string
	out     io.Writer // shared by the watcher and the invocation stream
	errOut  io.Writer
	deploy  *appDeployer
	prune   bool
	printer *invocationPrinter
}

func (g *globals) dev(cmd *cobra.Command, dir, appFlag, listen string, verbose bool) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is no folder: dev watches a folder of scripts", dir)
	}
	mu := &sync.Mutex{}
	out := &lockedWriter{w: cmd.OutOrStdout(), mu: mu}
	errOut := &lockedWriter{w: cmd.ErrOrStderr(), mu: mu}
	slug, err := devAppSlug(dir, appFlag)
	if err != nil {
		return err
	}
	c, stop, err := g.devClient(ctx, cmd, slug, listen, verbose, errOut)
	if err != nil {
		return err
	}
	defer stop()
	d, err := newAppDeployer(ctx, c, slug, true, out)
	if err != nil {
		return err
	}
	s := &devSession{dir: dir, out: out, errOut: errOut, deploy: d, prune: g.server == "",
		printer: &invocationPrinter{w: out, names: newCatalog(c)}}
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	defer watcher.Close()
	if err := watcher.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	s.redeploy(ctx, time.Now(), true)
	// Ready once calls are streamed: from then on every call is printed.
	ready := func() {
		fmt.Fprintf(out, "\nServing app %s at %s\nWatching %s for changes; Ctrl-C to stop.\n\n", slug, d.site.appURL(slug), dir)
	}
	var streamDone sync.WaitGroup
	streamDone.Go(func() { s.streamCalls(ctx, c, ready) })
	defer streamDone.Wait()
	defer cancel()
	return s.watch(ctx, watcher)
}

// devAppSlug picks the app of a dev session.
func devAppSlug(dir, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if app, err := appdir.LoadDir(dir); err == nil && app.Name != "" {
		return app.Name, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if name := strings.ToLower(filepath.Base(abs)); validSlug(name) {
		return name, nil
	}
	return "dev", nil
}

// devClient returns a client of --server, or starts a throwaway server
// and logs in to it; stop ends what it started.
func (g *globals) devClient(ctx context.Context, cmd *cobra.Command, slug, listen string, verbose bool, errOut io.Writer) (*apiclient.Client, func(), error) {
	if g.server != "" {
		c, err := g.client()
		return c, func() {}, err
	}
	if g.env.StartDevServer == nil {
		return nil, nil, errors.New("this build cannot start a local server: give --server")
	}
	data, err := os.MkdirTemp("", "picloud-dev-")
	if err != nil {
		return nil, nil, err
	}
	password := randomPassword()
	log := io.Discard
	if verbose {
		log = errOut
	}
	srv, err := g.env.StartDevServer(ctx, DevServerOptions{
		DataDir: data, Listen: listen, App: slug, Username: devUser, Password: password, Log: log,
	})
	if err != nil {
		os.RemoveAll(data)
		return nil, nil, fmt.Errorf("start the dev server: %w", err)
	}
	stop := func() {
		srv.Stop()
		os.RemoveAll(data)
	}
	c := apiclient.New(srv.AdminURL, "")
	c.UserAgent = "picloud-cli/" + g.env.Version
	sess, err := c.Login(ctx, devUser, password)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("log in to the dev server: %w", err)
	}
	c.Token = sess.Token
	fmt.Fprintf(cmd.OutOrStdout(), "Dev server at %s (web UI: %s/admin/, user %s, password %s)\n", srv.URL, srv.AdminURL, devUser, password)
	return c, stop, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// watch redeploys the folder after each change has settled, until ctx
// ends.
func (s *devSession) watch(ctx context.Context, w *fsnotify.Watcher) error {
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	var first time.Time // the first change of the batch not yet deployed
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			fmt.Fprintf(s.errOut, "watch: %v\n", err)
		case ev := <-w.Events:
			if !relevant(ev) {
				continue
			}
			if first.IsZero() {
				first = time.Now()
			}
			settle.Reset(settleTime)
		case <-settle.C:
			s.redeploy(ctx, first, false)
			first = time.Time{}
		}
	}
}

// relevant reports whether a change in the folder may change the app.
func relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Base(ev.Name)
	return appdir.IsScriptFile(name) || name == appdir.ConfigFile
}

// redeploy reads the folder again and deploys what changed, saying what
// went live and how long after the save (since).
func (s *devSession) redeploy(ctx context.Context, since time.Time, initial bool) {
	app, err := appdir.LoadDir(s.dir)
	if err != nil {
		if reportLoadError(err, s.errOut) != errSilent {
			fmt.Fprintln(s.errOut, err)
		}
		return
	}
	results, err := s.deploy.deploy(ctx, app)
	if err != nil {
		fmt.Fprintf(s.errOut, "deploy: %v\n", err)
		return
	}
	if initial {
		fmt.Fprintf(s.out, "App %s:\n", s.deploy.app.Slug)
		s.deploy.report(results, s.out, s.errOut)
	} else {
		took := time.Since(since)
		for _, r := range results {
			switch {
			case len(r.Problems) > 0:
				for _, p := range r.Problems {
					fmt.Fprintln(s.errOut, p)
				}
				if r.Version > 0 {
					fmt.Fprintf(s.errOut, "%s: v%d keeps serving\n", r.Name, r.Version)
				}
			case r.Outcome != outcomeUnchanged:
				fmt.Fprintf(s.out, "%s v%d live in %s (%s)\n", r.Name, r.Version, took.Round(100*time.Microsecond), filepath.Base(r.File))
			}
		}
	}
	if s.prune || initial {
		if err := s.deploy.prune(ctx, app, s.prune, s.out); err != nil {
			fmt.Fprintf(s.errOut, "deploy: %v\n", err)
		}
	}
}

// streamCalls prints every call of the app as it happens.
func (s *devSession) streamCalls(ctx context.Context, c *apiclient.Client, ready func()) {
	f := apiclient.InvocationFilter{App: s.deploy.app.Slug}
	err := c.StreamInvocations(ctx, f, apiclient.StreamOptions{After: -1, Ready: ready}, func(inv apiclient.Invocation) error {
		s.printer.print(ctx, inv)
		return nil
	})
	if err != nil {
		fmt.Fprintf(s.errOut, "invocation log: %v\n", err)
	}
}

// lockedWriter serializes writes from the watcher and the stream.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
