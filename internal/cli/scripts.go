package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

// scriptRow is a script in `picloud scripts -o json`.
type scriptRow struct {
	App string `json:"app"`
	apiclient.Script
}

func scriptsCmd(g *globals) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:   "scripts",
		Short: "List scripts with their live version",
		Example: `  picloud scripts
  picloud scripts --app shop -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			return listing(g, cmd, func(ctx context.Context, c *apiclient.Client) ([]scriptRow, error) {
				apps, err := appList(ctx, c, app)
				if err != nil {
					return nil, err
				}
				rows := []scriptRow{}
				for _, a := range apps {
					scripts, err := c.Scripts(ctx, a.Slug)
					if err != nil {
						return nil, err
					}
					for _, s := range scripts {
						rows = append(rows, scriptRow{App: a.Slug, Script: s})
					}
				}
				return rows, nil
			}, []string{"APP", "SCRIPT", "ID", "VERSION", "STATE", "UPDATED"}, func(r scriptRow) []string {
				return []string{r.App, r.Name, strconv.FormatInt(r.ID, 10), "v" + strconv.FormatInt(r.LiveVersion, 10), r.State, ago(&r.UpdatedAt, now)}
			})
		},
	}
	g.clientFlags(cmd, true)
	cmd.Flags().StringVarP(&app, "app", "a", "", "only this app's scripts (slug or id)")
	_ = cmd.RegisterFlagCompletionFunc("app", g.completeApps)
	return cmd
}
