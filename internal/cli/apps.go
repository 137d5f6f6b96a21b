package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

func appsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List, create, rename and delete apps",
		Long: `An app is the isolation boundary: it owns its scripts, routes and
domains, and answers on {slug}.{base_domain} (e.g. shop.localhost).
Without a subcommand, apps lists them.`,
		Example: `  picloud apps
  picloud apps create shop --name "The Shop"
  picloud apps rename shop store
  picloud apps delete store --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return g.listApps(cmd) },
	}
	g.clientFlags(cmd, true)
	var name string
	create := &cobra.Command{
		Use:     "create SLUG",
		Short:   "Create an app",
		Example: `  picloud apps create shop --name "The Shop"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			app, err := c.CreateApp(cmd.Context(), args[0], name)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created app %s (id %d).\n", app.Slug, app.ID)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name (default: the slug)")
	var newName string
	rename := &cobra.Command{
		Use:   "rename APP NEW-SLUG",
		Short: "Change an app's slug (the old one redirects) and optionally its name",
		Example: `  picloud apps rename shop store
  picloud apps rename shop shop --name "Shop (old)"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			change := apiclient.AppChange{}
			if args[1] != args[0] {
				change.Slug = &args[1]
			}
			if cmd.Flags().Changed("name") {
				change.Name = &newName
			}
			if change.Slug == nil && change.Name == nil {
				return errors.New("nothing to change: give a new slug or --name")
			}
			app, err := c.UpdateApp(cmd.Context(), args[0], change)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "App %s is now %s (%q).\n", args[0], app.Slug, app.Name)
			return nil
		},
		ValidArgsFunction: g.completeFirstApp,
	}
	rename.Flags().StringVar(&newName, "name", "", "new display name")
	var yes bool
	del := &cobra.Command{
		Use:   "delete APP",
		Short: "Delete an app with its scripts, routes and domains",
		Long: `Delete an app with everything it owns: scripts and their versions,
routes and domain claims. It asks you to type the slug unless --yes.`,
		Example: "  picloud apps delete shop\n  picloud apps delete shop --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				if !isTerminal(cmd.InOrStdin()) {
					return errors.New("deleting an app cannot be undone: confirm with --yes")
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Delete app %s with all its scripts, routes and domains? Type its slug to confirm: ", args[0])
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if strings.TrimSpace(line) != args[0] {
					return errors.New("not confirmed; nothing deleted")
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteApp(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted app %s.\n", args[0])
			return nil
		},
		ValidArgsFunction: g.completeFirstApp,
	}
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.AddCommand(create, rename, del)
	return cmd
}

func (g *globals) listApps(cmd *cobra.Command) error {
	var s *site
	now := time.Now()
	return listing(g, cmd, func(ctx context.Context, c *apiclient.Client) ([]apiclient.App, error) {
		apps, err := c.Apps(ctx)
		if err != nil {
			return nil, err
		}
		s, err = siteOf(ctx, c)
		return apps, err
	}, []string{"SLUG", "NAME", "ID", "URL", "CREATED"}, func(a apiclient.App) []string {
		return []string{a.Slug, a.Name, strconv.FormatInt(a.ID, 10), s.appURL(a.Slug), ago(&a.CreatedAt, now)}
	})
}

// appList returns the apps to show: the one named by ref, or all.
func appList(ctx context.Context, c *apiclient.Client, ref string) ([]apiclient.App, error) {
	if ref == "" {
		return c.Apps(ctx)
	}
	a, err := c.App(ctx, ref)
	if err != nil {
		return nil, err
	}
	return []apiclient.App{*a}, nil
}

// completeApps offers app slugs.
func (g *globals) completeApps(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	c, err := g.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	apps, err := c.Apps(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var slugs []string
	for _, a := range apps {
		slugs = append(slugs, a.Slug)
	}
	return slugs, cobra.ShellCompDirectiveNoFileComp
}

// completeFirstApp completes an APP first argument.
func (g *globals) completeFirstApp(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return g.completeApps(cmd, args, s)
}
