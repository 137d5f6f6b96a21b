package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/picloud/picloud/internal/apiclient"
)

// invokeLogWait bounds the wait for an invocation's log, which the
// server stores in batches a moment after answering.
const invokeLogWait = 3 * time.Second

func invokeCmd(g *globals) *cobra.Command {
	var app, method, data, path string
	var headers []string
	cmd := &cobra.Command{
		Use:   "invoke SCRIPT",
		Short: "Call a script by name or id and show its answer and log",
		Long: `Call a script through /api/v1/execute/{id}, bypassing routes, and print
the status, headers and body of its answer, then the log lines it wrote.
SCRIPT is a name (with --app when several apps have one) or an id. The
method is GET, or POST with --data.`,
		Example: `  picloud invoke greet
  picloud invoke greet --app shop --path /greet/alice
  picloud invoke 12 -X PUT -H 'Content-Type: application/json' -d '{"name":"bob"}'
  picloud invoke upload -d @photo.jpg
  echo hello | picloud invoke echo -d @-`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.invoke(cmd, args[0], app, method, data, path, headers)
		},
	}
	g.clientFlags(cmd, true)
	cmd.Flags().StringVarP(&app, "app", "a", "", "the script's app (slug or id)")
	cmd.Flags().StringVarP(&method, "method", "X", "", "HTTP method (default GET, or POST with --data)")
	cmd.Flags().StringVarP(&data, "data", "d", "", "request body: text, @file, or @- for stdin")
	cmd.Flags().StringVar(&path, "path", "/", "the path the script sees")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, `request header "Name: value" (repeatable)`)
	_ = cmd.RegisterFlagCompletionFunc("app", g.completeApps)
	return cmd
}

// invokeResult is `picloud invoke -o json`.
type invokeResult struct {
	Status     int                 `json:"status"`
	Headers    map[string][]string `json:"headers"`
	Body       string              `json:"body"`
	RequestID  string              `json:"request_id"`
	Version    int64               `json:"version,omitempty"`
	DurationUS int64               `json:"duration_us,omitempty"`
	Log        string              `json:"log"`
	Error      string              `json:"error,omitempty"`
}

func (g *globals) invoke(cmd *cobra.Command, ref, app, method, data, path string, headerFlags []string) error {
	asJSON, err := g.jsonOutput()
	if err != nil {
		return err
	}
	body, err := requestBody(cmd.InOrStdin(), data, cmd.Flags().Changed("data"))
	if err != nil {
		return err
	}
	if method == "" {
		method = "GET"
		if body != nil {
			method = "POST"
		}
	}
	header := http.Header{}
	for _, h := range headerFlags {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("header %q: want \"Name: value\"", h)
		}
		header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	script, _, err := newCatalog(c).resolveScript(ctx, ref, app)
	if err != nil {
		return err
	}
	res, err := c.Execute(ctx, script.ID, strings.ToUpper(method), path, header, body)
	if err != nil {
		return err
	}
	out := invokeResult{Status: res.Status, Headers: res.Header, Body: string(res.Body), RequestID: res.RequestID}
	if inv := waitInvocation(ctx, c, res.RequestID); inv != nil {
		out.Version, out.DurationUS, out.Log, out.Error = inv.Version, inv.DurationUS, inv.Output, inv.Error
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), out)
	}
	printInvoke(cmd.OutOrStdout(), script.Name, out)
	return nil
}

// requestBody reads --data: text, @file or @- (stdin); nil when not given.
func requestBody(stdin io.Reader, data string, given bool) ([]byte, error) {
	switch {
	case !given:
		return nil, nil
	case data == "@-":
		return io.ReadAll(stdin)
	case strings.HasPrefix(data, "@"):
		b, err := os.ReadFile(data[1:])
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		return b, nil
	}
	return []byte(data), nil
}

// waitInvocation fetches the log of a request, waiting the moment the
// server takes to store it; nil when it does not come (the log may be
// capped by invocations.max_per_second).
func waitInvocation(ctx context.Context, c *apiclient.Client, requestID string) *apiclient.Invocation {
	if requestID == "" {
		return nil
	}
	deadline := time.Now().Add(invokeLogWait)
	for {
		inv, err := c.Invocation(ctx, requestID)
		if err == nil {
			return inv
		}
		if !apiclient.IsStatus(err, http.StatusNotFound) || time.Now().After(deadline) || errors.Is(ctx.Err(), context.Canceled) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func printInvoke(w io.Writer, name string, r invokeResult) {
	meta := []string{}
	if r.Version > 0 {
		meta = append(meta, fmt.Sprintf("%s v%d", name, r.Version))
	}
	if r.DurationUS > 0 {
		meta = append(meta, duration(r.DurationUS))
	}
	meta = append(meta, "request "+r.RequestID)
	fmt.Fprintf(w, "%d %s  (%s)\n", r.Status, http.StatusText(r.Status), strings.Join(meta, ", "))
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Headers[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, r.Body)
	if len(r.Body) > 0 && !strings.HasSuffix(r.Body, "\n") {
		fmt.Fprintln(w)
	}
	if r.Log != "" || r.Error != "" {
		fmt.Fprintln(w, "\nlog:")
		printIndented(w, r.Log, "  | ")
		printIndented(w, r.Error, "  ! ")
	}
}
