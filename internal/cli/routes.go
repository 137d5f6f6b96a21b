package cli

import (
	"context"
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
			return listing(g, cmd, func(ctx context.Context, c *apiclient.Client) ([]routeRow, error) {
				apps, err := appList(ctx, c, app)
				if err != nil {
					return nil, err
				}
				s, err := siteOf(ctx, c)
				if err != nil {
					return nil, err
				}
				rows := []routeRow{}
				for _, a := range apps {
					scripts, err := c.Scripts(ctx, a.Slug)
					if err != nil {
						return nil, err
					}
					names := map[int64]string{}
					for _, sc := range scripts {
						names[sc.ID] = sc.Name
					}
					routes, err := c.AppRoutes(ctx, a.Slug)
					if err != nil {
						return nil, err
					}
					for _, r := range routes {
						rows = append(rows, routeRow{App: a.Slug, Script: names[r.ScriptID], URL: s.routeURL(a.Slug, r.Path), Route: r})
					}
				}
				return rows, nil
			}, []string{"APP", "METHOD", "PATH", "SCRIPT", "ID", "URL"}, func(r routeRow) []string {
				return []string{r.App, r.Method, r.Path, r.Script, strconv.FormatInt(r.ID, 10), r.URL}
			})
		},
	}
	g.clientFlags(cmd, true)
	cmd.Flags().StringVarP(&app, "app", "a", "", "only this app's routes (slug or id)")
	_ = cmd.RegisterFlagCompletionFunc("app", g.completeApps)
	return cmd
}
