package cli

import (
	"context"
	"fmt"
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
			}, []string{"APP", "SCRIPT", "ID", "VERSION", "HEALTH", "UPDATED"}, func(r scriptRow) []string {
				return []string{r.App, r.Name, strconv.FormatInt(r.ID, 10), "v" + strconv.FormatInt(r.LiveVersion, 10), healthText(r.Script), ago(&r.UpdatedAt, now)}
			})
		},
	}
	g.clientFlags(cmd, true)
	cmd.Flags().StringVarP(&app, "app", "a", "", "only this app's scripts (slug or id)")
	_ = cmd.RegisterFlagCompletionFunc("app", g.completeApps)
	return cmd
}

// healthText is a script's health as the server derived it, with the
// failures among its latest calls: "failing (5 of 5 calls failed)".
func healthText(s apiclient.Script) string {
	h := s.Health
	switch {
	case h == nil:
		return s.State // an older server
	case h.Failures > 0:
		return fmt.Sprintf("%s (%d of %d calls failed)", h.State, h.Failures, h.Calls)
	}
	return h.State
}
