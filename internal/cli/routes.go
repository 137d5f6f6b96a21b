package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

// routeRow is a route in `picloud routes -o json`.
type routeRow struct {
	App    string `json:"app"`
	Script string `json:"script"`
	URL    string `json:"url,omitempty"`
	apiclient.Route
}

func routesCmd(g *globals) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "List routes with the script they run and their URL",
		Example: `  picloud routes
  picloud routes --app shop -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := g.jsonOutput()
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			apps, err := appList(ctx, c, app)
			if err != nil {
				return err
			}
			s, err := siteOf(ctx, c)
			if err != nil {
				return err
			}
			rows := []routeRow{}
			for _, a := range apps {
				scripts, err := c.Scripts(ctx, a.Slug)
				if err != nil {
					return err
				}
				names := map[int64]string{}
				for _, sc := range scripts {
					names[sc.ID] = sc.Name
				}
				routes, err := c.AppRoutes(ctx, a.Slug)
				if err != nil {
					return err
				}
				for _, r := range routes {
					rows = append(rows, routeRow{App: a.Slug, Script: names[r.ScriptID], URL: s.routeURL(a.Slug, r.Path), Route: r})
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			t := newTable(cmd.OutOrStdout(), "APP", "METHOD", "PATH", "SCRIPT", "ID", "URL")
			for _, r := range rows {
				t.row(r.App, r.Method, r.Path, r.Script, strconv.FormatInt(r.ID, 10), r.URL)
			}
			return t.flush()
		},
	}
	g.clientFlags(cmd, true)
	cmd.Flags().StringVarP(&app, "app", "a", "", "only this app's routes (slug or id)")
	_ = cmd.RegisterFlagCompletionFunc("app", g.completeApps)
	return cmd
}
