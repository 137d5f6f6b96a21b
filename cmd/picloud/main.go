// Command picloud is the PiCloud server: upload a Go script, bind it to a
// route, get an HTTP endpoint.
//
//	picloud [serve] [--config FILE]   run the server (the default)
//	picloud migrate [--config FILE]   apply database migrations and exit
//	picloud worker                    run scripts for a server (started by serve)
//	picloud check < script.go         check a script as an upload is checked
//	picloud version                   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is PiCloud's release version.
const version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "picloud:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		path, err := parseFlags("serve", args, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, path, stderr)
	case "migrate":
		path, err := parseFlags("migrate", args, stderr)
		if err != nil {
			return err
		}
		return migrate(ctx, path, stdout, stderr)
	case "worker":
		return runWorker(ctx, stderr)
	case "check":
		return runCheck(ctx, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "picloud %s (api v1, sdk v1)\n", version)
		return nil
	case "help":
		usage(stdout)
		return nil
	default:
		usage(stderr)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func parseFlags(name string, args []string, stderr io.Writer) (string, error) {
	fs := flag.NewFlagSet("picloud "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "path to config.hcl (default: none; every key has a default)")
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return *path, nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: picloud [command] [--config FILE]

commands:
  serve     run the server (default)
  migrate   apply database migrations and exit
  version   print the version
  worker    run scripts for a server (internal: started by serve)
  check     check a script read from stdin as an upload is checked
            (run by serve for every upload); prints {} or the error as JSON

Every config key has a default; PICLOUD_LISTEN, PICLOUD_DATA_DIR and
PICLOUD_DATABASE_URL override the file.

While no admin user exists, PICLOUD_ADMIN_USERNAME and PICLOUD_ADMIN_PASSWORD
create the first one at start; without them the server prints a one-time
setup link. Once an admin exists they are ignored.
`)
}
