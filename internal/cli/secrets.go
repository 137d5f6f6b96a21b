package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/picloud/picloud/internal/apiclient"
)

// maxSecretInput bounds what secrets set reads; the server refuses
// values over its own, smaller limit with a clear error.
const maxSecretInput = 1 << 20

func secretsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "List, set and delete an app's secrets",
		Long: `Secrets are per-app values a script reads with picloud.Secret(name),
such as API keys. They are write-only: the server stores them encrypted
and answers only their names, when they were set and a fingerprint (equal
values, equal fingerprints), never a value.

set reads the value from stdin (one trailing newline dropped, so
"echo $KEY |" works), from a file with --from-file (as is), or asks for
it without echo on a terminal. Keep values off the command line: argv
ends up in shell history and in the process list.`,
		Example: `  picloud secrets list shop
  picloud secrets set shop STRIPE_KEY            # asks for the value
  printf %s "$STRIPE_KEY" | picloud secrets set shop STRIPE_KEY
  picloud secrets set shop TLS_KEY --from-file key.pem
  picloud secrets delete shop STRIPE_KEY`,
		Args: cobra.NoArgs,
	}
	g.clientFlags(cmd, true)
	list := &cobra.Command{
		Use:               "list APP",
		Short:             "List an app's secrets: names and fingerprints, never values",
		Example:           "  picloud secrets list shop\n  picloud secrets list shop -o json",
		Args:              cobra.ExactArgs(1),
		RunE:              func(cmd *cobra.Command, args []string) error { return g.listSecrets(cmd, args[0]) },
		ValidArgsFunction: g.completeFirstApp,
	}
	var fromFile, value string
	set := &cobra.Command{
		Use:   "set APP NAME",
		Short: "Set a secret of an app (from stdin, --from-file or a prompt)",
		Long: `Set (create or replace) the secret NAME of APP. The value comes from
--from-file (the file as is), else from stdin (one trailing newline
dropped), or is asked for without echo when stdin is a terminal. Scripts
see a new value on their next call.`,
		Example: `  picloud secrets set shop STRIPE_KEY
  printf %s "$STRIPE_KEY" | picloud secrets set shop STRIPE_KEY
  picloud secrets set shop TLS_KEY --from-file key.pem`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := secretValue(cmd, args[1], fromFile, value)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.SetSecret(cmd.Context(), args[0], args[1], v)
			if err != nil {
				return err
			}
			if asJSON, err := g.jsonOutput(); err != nil || asJSON {
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Set secret %s of app %s (fingerprint %s).\n", s.Name, args[0], s.Fingerprint)
			return nil
		},
		ValidArgsFunction: g.completeFirstApp,
	}
	set.Flags().StringVar(&fromFile, "from-file", "", "read the value from this file, as is")
	set.Flags().StringVar(&value, "value", "", "the value itself (it lands in shell history and the process list: prefer stdin or --from-file)")
	del := &cobra.Command{
		Use:     "delete APP NAME",
		Short:   "Delete a secret of an app",
		Example: "  picloud secrets delete shop STRIPE_KEY",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteSecret(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted secret %s of app %s.\n", args[1], args[0])
			return nil
		},
		ValidArgsFunction: g.completeFirstApp,
	}
	cmd.AddCommand(list, set, del)
	return cmd
}

// secretValue is the value secrets set stores: from --from-file, --value
// (with a warning), a prompt on a terminal, or stdin.
func secretValue(cmd *cobra.Command, name, fromFile, value string) (string, error) {
	valueSet := cmd.Flags().Changed("value")
	switch {
	case fromFile != "" && valueSet:
		return "", errors.New("give the value one way: --from-file or --value, not both")
	case fromFile != "":
		b, err := readLimited(fromFile)
		if err != nil {
			return "", err
		}
		return string(b), nil
	case valueSet:
		fmt.Fprintln(cmd.ErrOrStderr(), "Warning: a value given with --value lands in your shell history and the process list; prefer stdin or --from-file.")
		return value, nil
	}
	in := cmd.InOrStdin()
	if isTerminal(in) {
		fmt.Fprintf(cmd.ErrOrStderr(), "Value of %s: ", name)
		b, err := term.ReadPassword(int(in.(*os.File).Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read the value: %w", err)
		}
		return string(b), nil
	}
	b, err := io.ReadAll(io.LimitReader(in, maxSecretInput+1))
	if err != nil {
		return "", fmt.Errorf("read the value from stdin: %w", err)
	}
	if len(b) > maxSecretInput {
		return "", fmt.Errorf("the value on stdin is over %d bytes", maxSecretInput)
	}
	v := string(b)
	if s, ok := strings.CutSuffix(v, "\r\n"); ok {
		v = s
	} else {
		v = strings.TrimSuffix(v, "\n")
	}
	if v == "" {
		return "", errors.New("no value on stdin: pipe it in, or use --from-file")
	}
	return v, nil
}

// readLimited reads the file path, refusing one over maxSecretInput.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--from-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretInput+1))
	if err != nil {
		return nil, fmt.Errorf("--from-file %s: %w", path, err)
	}
	if len(b) > maxSecretInput {
		return nil, fmt.Errorf("--from-file %s: over %d bytes", path, maxSecretInput)
	}
	return b, nil
}

func (g *globals) listSecrets(cmd *cobra.Command, app string) error {
	now := time.Now()
	return listing(g, cmd, func(ctx context.Context, c *apiclient.Client) ([]apiclient.Secret, error) {
		return c.Secrets(ctx, app)
	}, []string{"NAME", "FINGERPRINT", "KEY", "UPDATED", "CREATED"}, func(s apiclient.Secret) []string {
		return []string{s.Name, s.Fingerprint, s.KeyID, ago(&s.UpdatedAt, now), ago(&s.CreatedAt, now)}
	})
}
