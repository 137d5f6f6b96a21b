// Command picloud is PiCloud in one binary: the server (upload a Go
// script, bind it to a route, get an HTTP endpoint) and the client that
// deploys to it.
//
//	picloud [serve] [--config FILE]   run the server (the default)
//	picloud migrate [--config FILE]   apply database migrations and exit
//	picloud worker                    run scripts for a server (started by serve)
//	picloud check < script.go         check a script as an upload is checked
//	picloud version                   print the version
//	picloud login | deploy | dev | logs | ...   the client (picloud --help)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/internal/cli"
	"github.com/picloud/picloud/sandbox/sdk"
)

// version is PiCloud's release version.
const version = "0.1.0-dev"

// Help groups of the root command.
const groupServer = "server"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !cli.ErrSilent(err) {
			fmt.Fprintln(os.Stderr, "picloud:", err)
			if strings.HasPrefix(err.Error(), "unknown command") {
				fmt.Fprintln(os.Stderr, "Run 'picloud --help' for usage.")
			}
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRoot()
	root.SetArgs(legacyFlags(args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// environmentHelp lists every PICLOUD_* variable with what it sets.
func environmentHelp() string {
	var b strings.Builder
	for _, kv := range config.Environment() {
		fmt.Fprintf(&b, "  %-26s %s\n", kv[0], kv[1])
	}
	for _, kv := range [][2]string{
		{"PICLOUD_ADMIN_USERNAME", "the first admin's name (while none exists)"},
		{"PICLOUD_ADMIN_PASSWORD", "the first admin's password (12 characters at least)"},
		{"PICLOUD_SERVER", "the client commands' server (the admin host's URL)"},
		{"PICLOUD_TOKEN", "the client commands' API token"},
	} {
		fmt.Fprintf(&b, "  %-26s %s\n", kv[0], kv[1])
	}
	return strings.TrimRight(b.String(), "\n")
}

// newRoot builds the command tree: `picloud` alone serves.
func newRoot() *cobra.Command {
	var configPath string
	root := &cobra.Command{
		Use:   "picloud",
		Short: "PiCloud: upload a Go script, bind it to a route, get an HTTP endpoint",
		Long: `PiCloud is a self-hosted serverless platform in one binary: ` + "`picloud`" + ` alone
(or ` + "`picloud serve`" + `) runs the server; the client commands deploy to it.

Every config key has a default; PICLOUD_LISTEN, PICLOUD_DATA_DIR and
PICLOUD_DATABASE_URL override the file. While no admin user exists,
PICLOUD_ADMIN_USERNAME and PICLOUD_ADMIN_PASSWORD create the first one at
start; without them the server prints a one-time setup link.

Environment:
` + environmentHelp(),
		Example: `  picloud                                  # serve on 127.0.0.1:8080, data in ./data
  picloud --config config.hcl
  picloud login && picloud deploy ./shop   # deploy a folder to it
  picloud dev ./shop                       # a throwaway server that redeploys on save`,
		Args:              cobra.NoArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), configPath, cmd.ErrOrStderr())
		},
	}
	root.Flags().StringVar(&configPath, "config", "", "path to config.hcl (default: none; every key has a default)")
	root.AddGroup(
		&cobra.Group{ID: groupServer, Title: "Server commands:"},
		&cobra.Group{ID: cli.GroupID, Title: "Client commands:"},
	)
	// The server's commands, one per line.
	root.AddCommand(
		serveCmd(),
		migrateCmd(),
		workerCmd(),
		checkCmd(),
		versionCmd(),
	)
	root.AddCommand(cli.Commands(cli.Env{Version: version, StartDevServer: startDevServer})...)
	root.SetHelpCommandGroupID(cli.GroupID)
	root.SetCompletionCommandGroupID(cli.GroupID)
	return root
}

func serveCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (the default command)",
		Example: `  picloud serve
  picloud serve --config /etc/picloud/config.hcl
  PICLOUD_ADMIN_USERNAME=admin PICLOUD_ADMIN_PASSWORD='a long password' picloud serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), configPath, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "path to config.hcl (default: none; every key has a default)")
	cmd.GroupID = groupServer
	return cmd
}

func migrateCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:     "migrate",
		Short:   "Apply database migrations and exit",
		Example: "  picloud migrate --config /etc/picloud/config.hcl\n  PICLOUD_DATABASE_URL=postgres://picloud@db/picloud picloud migrate",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return migrate(cmd.Context(), configPath, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "path to config.hcl (default: none; every key has a default)")
	cmd.GroupID = groupServer
	return cmd
}

func workerCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "worker",
		Short:   "Run scripts for a server (internal: started by serve)",
		Example: "  (started by `picloud serve` with a socket on fd 3; not run by hand)",
		Args:    cobra.NoArgs,
		GroupID: groupServer,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), cmd.ErrOrStderr())
		},
	}
}

// checkCmd is the upload check, run by serve in a process of its own for
// every upload (worker.Checker starts this executable with "check").
// Hidden: nobody needs to run it by hand, though one may.
func checkCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "check",
		Short:   "Check a script read from stdin as an upload is checked; prints {} or the error as JSON",
		Example: "  picloud check < hello.go   (serve runs it for every upload)",
		Args:    cobra.NoArgs,
		Hidden:  true,
		GroupID: groupServer,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  picloud version",
		Args:    cobra.NoArgs,
		GroupID: groupServer,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "picloud %s (api v1, sdk %s)\n", version, sdk.Version)
			return nil
		},
	}
}

// legacyFlags accepts the single-dash -config of the standard flag
// package the server took before the client commands came, so existing
// scripts and units keep working.
func legacyFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "-config" || strings.HasPrefix(a, "-config=") {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}
