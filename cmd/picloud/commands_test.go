package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamples: `--help` of every command shows how to use
// it (cobra's own help and completion commands aside).
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		generated := c.Name() == "help" || c.Name() == "completion" || (c.Parent() != nil && c.Parent().Name() == "completion")
		if !generated && !c.Hidden && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no examples", c.CommandPath())
		}
		if !generated && c.Short == "" {
			t.Errorf("%q has no short description", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRoot()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	walk(root)
}

func TestLegacyFlags(t *testing.T) {
	got := legacyFlags([]string{"serve", "-config", "a.hcl", "-config=b.hcl", "--config", "c", "deploy", "-configure"})
	want := []string{"serve", "--config", "a.hcl", "--config=b.hcl", "--config", "c", "deploy", "-configure"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("legacyFlags = %q, want %q", got, want)
	}
}

// TestHelpAndVersion run in-process: the command table answers without
// starting anything.
func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"version"}, []string{"picloud 0.1.0-dev (api v1, sdk v2)"}},
		{[]string{"--help"}, []string{"Server commands:", "Client commands:", "serve", "dev"}},
		{[]string{"deploy", "--help"}, []string{"//picloud:route", "picloud.hcl", "--prune", "Examples:"}},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := run(context.Background(), tt.args, strings.NewReader(""), &out, &out); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out.String())
			}
		}
	}
}
