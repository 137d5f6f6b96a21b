package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

func tokensCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Manage API tokens for automation (CI, scripts)",
		Long: `API tokens are long-lived bearer tokens for automation: use one as
$PICLOUD_TOKEN (or "Authorization: Bearer TOKEN" with curl) wherever a
login works. A token is shown once, when it is made; the server keeps
only its hash. Tokens are yours: you list and revoke your own.`,
		Example: `  picloud tokens create ci --expires-in 90d
  picloud tokens list
  picloud tokens revoke ci`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return g.listTokens(cmd) },
	}
	g.clientFlags(cmd, true)
	var expiresIn string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Make an API token and print it, once",
		Example: `  picloud tokens create ci
  picloud tokens create deploy-bot --expires-in 30d
  export PICLOUD_TOKEN=$(picloud tokens create ci -o json | jq -r .token)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), args[0], expiresIn)
			if err != nil {
				return err
			}
			if asJSON, err := g.jsonOutput(); err != nil || asJSON {
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), t)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s\n", t.Secret)
			expiry := "never expires"
			if t.ExpiresAt != nil {
				expiry = "expires " + t.ExpiresAt.Local().Format(time.RFC1123)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "\nAPI token %q made (%s). It is shown this once: keep it now.\nUse it as %s=<token>, or `picloud login --with-token`.\n", t.Name, expiry, EnvToken)
			return nil
		},
	}
	create.Flags().StringVar(&expiresIn, "expires-in", "", `lifetime such as "90d", "12h" (default: until revoked)`)
	list := &cobra.Command{
		Use:     "list",
		Short:   "List your API tokens with their last use",
		Example: "  picloud tokens list\n  picloud tokens list -o json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return g.listTokens(cmd) },
	}
	revoke := &cobra.Command{
		Use:     "revoke NAME|ID",
		Short:   "Revoke an API token: it stops working at once",
		Example: "  picloud tokens revoke ci\n  picloud tokens revoke 12",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			tokens, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			for _, t := range tokens {
				if t.Name == args[0] || strconv.FormatInt(t.ID, 10) == args[0] {
					if err := c.RevokeToken(cmd.Context(), t.ID); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Revoked API token %q.\n", t.Name)
					return nil
				}
			}
			return fmt.Errorf("you have no API token named %q (see picloud tokens list)", args[0])
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return g.completeTokens(cmd)
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func (g *globals) listTokens(cmd *cobra.Command) error {
	now := time.Now()
	return listing(g, cmd, func(ctx context.Context, c *apiclient.Client) ([]apiclient.Token, error) {
		return c.Tokens(ctx)
	}, []string{"NAME", "ID", "CREATED", "LAST USED", "EXPIRES"}, func(tok apiclient.Token) []string {
		expires := "never"
		if tok.ExpiresAt != nil {
			expires = ago(tok.ExpiresAt, now)
		}
		return []string{tok.Name, strconv.FormatInt(tok.ID, 10), ago(&tok.CreatedAt, now), ago(tok.LastUsedAt, now), expires}
	})
}

// completeTokens offers the names of the caller's tokens.
func (g *globals) completeTokens(cmd *cobra.Command) ([]string, cobra.ShellCompDirective) {
	c, err := g.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	tokens, err := c.Tokens(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, t := range tokens {
		names = append(names, t.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
