package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		// A cell never breaks the table.
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// ago says how long before now t was, briefly ("3m ago"); "never" for
// nil.
func ago(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < 0:
		return "in " + brief(-d)
	case d < time.Minute:
		return "just now"
	}
	return brief(d) + " ago"
}

// brief rounds a duration to its largest unit: 3m, 5h, 12d.
func brief(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(math.Round(d.Hours()/24)))
}

// duration shows a microsecond count as 850µs, 12.3ms or 1.20s.
func duration(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", us)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(us)/1000)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// listing is what every listing command does: fetch the items through
// the server's client, then print them as JSON (--output json) or as a
// table with header, one row per item. fetch may gather what the rows
// need beside the items (a row closure reads it).
func listing[T any](g *globals, cmd *cobra.Command, fetch func(context.Context, *apiclient.Client) ([]T, error), header []string, row func(T) []string) error {
	asJSON, err := g.jsonOutput()
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	items, err := fetch(cmd.Context(), c)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), items)
	}
	t := newTable(cmd.OutOrStdout(), header...)
	for _, it := range items {
		t.row(row(it)...)
	}
	return t.flush()
}
