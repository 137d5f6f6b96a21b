package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

func logsCmd(g *globals) *cobra.Command {
	var app, script, status, node string
	var limit int
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the invocation log; --follow streams new calls as they happen",
		Long: `Show the newest invocations, oldest first: time, status, duration,
script and version, method and path, and what the script printed.
--follow then keeps streaming new ones as they happen (server-sent
events from GET /api/v1/admin/invocations/stream), until Ctrl-C.
--status takes a code (404) or a class (5xx); --node keeps the calls one
cluster node ran (each line ends with the node that ran it).`,
		Example: `  picloud logs
  picloud logs --app shop --status 5xx
  picloud logs --script greet --follow
  picloud logs --node pi2-7946 --status 5xx
  picloud logs -f -o json | jq .status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.logs(cmd, apiclient.InvocationFilter{App: app, Status: status, Node: node}, script, limit, follow)
		},
	}
	g.clientFlags(cmd, true)
	cmd.Flags().StringVarP(&app, "app", "a", "", "only this app's invocations (slug or id)")
	cmd.Flags().StringVarP(&script, "script", "s", "", "only this script's (name or id)")
	cmd.Flags().StringVar(&status, "status", "", `only this status ("404") or class ("5xx")`)
	cmd.Flags().StringVar(&node, "node", "", "only the invocations this cluster node ran (its node name)")
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "how many past invocations to show first (1-500; 0 with --follow: none)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream new invocations as they happen")
	_ = cmd.RegisterFlagCompletionFunc("app", g.completeApps)
	return cmd
}

func (g *globals) logs(cmd *cobra.Command, f apiclient.InvocationFilter, script string, limit int, follow bool) error {
	asJSON, err := g.jsonOutput()
	if err != nil {
		return err
	}
	if limit < 0 || limit > 500 {
		return fmt.Errorf("--limit %d: want 0 to 500", limit)
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	names := newCatalog(c)
	if script != "" {
		s, _, err := names.resolveScript(ctx, script, f.App)
		if err != nil {
			return err
		}
		f.ScriptID = s.ID
	}
	p := &invocationPrinter{w: cmd.OutOrStdout(), json: asJSON, names: names}
	after := int64(-1)
	if limit > 0 {
		f.Limit = limit
		invs, err := c.Invocations(ctx, f)
		if err != nil {
			return err
		}
		slices.Reverse(invs) // oldest first, like a log
		if asJSON && !follow {
			return printJSON(cmd.OutOrStdout(), invs)
		}
		for _, inv := range invs {
			p.print(ctx, inv)
			after = max(after, inv.ID)
		}
	}
	if !follow {
		return nil
	}
	f.Limit = 0
	ready := func() {
		fmt.Fprintln(cmd.ErrOrStderr(), "Following new invocations; Ctrl-C to stop.")
	}
	return c.StreamInvocations(ctx, f, apiclient.StreamOptions{After: after, Ready: ready}, func(inv apiclient.Invocation) error {
		p.print(ctx, inv)
		return nil
	})
}

// invocationPrinter prints invocations as log lines or JSON lines.
type invocationPrinter struct {
	w     io.Writer
	json  bool
	names *catalog
}

func (p *invocationPrinter) print(ctx context.Context, inv apiclient.Invocation) {
	if p.json {
		b, _ := json.Marshal(inv)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	script := "-"
	if inv.ScriptID != 0 {
		script = fmt.Sprintf("%s v%d", p.names.scriptName(ctx, inv.ScriptID), inv.Version)
	}
	ref := inv.RequestID
	if inv.Node != "" {
		ref += " on " + inv.Node
	}
	fmt.Fprintf(p.w, "%s  %3d  %7s  %s  %s %s  (%s)\n",
		inv.CreatedAt.Local().Format("Jan 02 15:04:05.000"), inv.Status, duration(inv.DurationUS),
		script, inv.Method, inv.Path, ref)
	printIndented(p.w, inv.Output, "  | ")
	if inv.Error != "" {
		printIndented(p.w, inv.Error, "  ! ")
	}
}

// printIndented writes text's lines, each after prefix.
func printIndented(w io.Writer, text, prefix string) {
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return
	}
	for line := range strings.SplitSeq(text, "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
