package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Load returns the configuration: Default, then the HCL file at path (none
// when path is ""), then the PICLOUD_* variables read through env (none when
// env is nil; an empty value counts as unset). A missing file that was
// asked for is an error. All problems found are reported together, one per
// line, each naming its file position or environment variable and the key.
func Load(path string, env func(string) string) (*Config, error) {
	c := Default()
	table := c.settings()
	var errs []error
	if path != "" {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		errs = append(errs, loadFile(path, src, table)...)
	}
	if env != nil {
		errs = append(errs, loadEnv(env, table)...)
		c.impliedCluster(env)
	}
	if len(errs) == 0 {
		errs = c.validateCluster()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// loadEnv applies the environment variables of table.
func loadEnv(env func(string) string, table []setting) []error {
	var errs []error
	for _, s := range table {
		if s.env == "" {
			continue
		}
		if v := env(s.env); v != "" {
			if err := s.parse(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", s.env, s.name(), err))
			}
		}
	}
	return errs
}

// positionedError is a problem at a place in the config file.
type positionedError struct {
	pos hcl.Pos
	msg string
}

// fileLoader applies one HCL file to the settings of table.
type fileLoader struct {
	filename string
	table    []setting
	errs     []positionedError
}

// loadFile parses src and applies it; the errors come back in file order.
func loadFile(filename string, src []byte, table []setting) []error {
	l := &fileLoader{filename: filename, table: table}
	file, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				l.addDiag("", d)
			}
		}
	} else {
		l.body(file.Body.(*hclsyntax.Body), "")
	}
	slices.SortStableFunc(l.errs, func(a, b positionedError) int {
		return cmp.Or(cmp.Compare(a.pos.Line, b.pos.Line), cmp.Compare(a.pos.Column, b.pos.Column))
	})
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = fmt.Errorf("%s:%d,%d: %s", l.filename, e.pos.Line, e.pos.Column, e.msg)
	}
	return errs
}

func (l *fileLoader) errorf(r hcl.Range, format string, args ...any) {
	l.errs = append(l.errs, positionedError{pos: r.Start, msg: fmt.Sprintf(format, args...)})
}

// addDiag records one of HCL's own error diagnostics, prefixed with the key
// if known.
func (l *fileLoader) addDiag(key string, d *hcl.Diagnostic) {
	msg := d.Summary
	if d.Detail != "" {
		msg = strings.TrimPrefix(d.Detail, "Unsuitable value: ")
	}
	if key != "" {
		msg = key + ": " + msg
	}
	r := hcl.Range{Filename: l.filename, Start: hcl.InitialPos}
	if d.Subject != nil {
		r = *d.Subject
	}
	l.errorf(r, "%s", strings.TrimSuffix(msg, "."))
}

// firstError is the first error in diags (later ones tend to follow from
// it: "Variables may not be used here" is followed by "value must be
// known").
func firstError(diags hcl.Diagnostics) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			return d
		}
	}
	return nil
}

// body applies the attributes and blocks of the top level (block "") or of
// one block.
func (l *fileLoader) body(b *hclsyntax.Body, block string) {
	for _, attr := range b.Attributes {
		l.attribute(attr, block)
	}
	seen := map[string]*hclsyntax.Block{}
	for _, blk := range b.Blocks {
		switch {
		case block != "" || !l.isBlock(blk.Type):
			l.unknownBlock(blk, block)
		case len(blk.Labels) > 0:
			l.errorf(blk.LabelRanges[0], "block %q takes no labels", blk.Type)
		case seen[blk.Type] != nil:
			l.errorf(blk.TypeRange, "duplicate block %q (the first is at line %d)", blk.Type, seen[blk.Type].TypeRange.Start.Line)
		default:
			seen[blk.Type] = blk
			l.body(blk.Body, blk.Type)
		}
	}
}

// attribute decodes one key = value and hands its text to the setting.
func (l *fileLoader) attribute(attr *hclsyntax.Attribute, block string) {
	s, ok := l.setting(block, attr.Name)
	if !ok {
		l.unknownKey(attr, block)
		return
	}
	if s.items != nil {
		l.listAttribute(attr, s)
		return
	}
	var v string
	if d := firstError(gohcl.DecodeExpression(attr.Expr, nil, &v)); d != nil {
		l.addDiag(s.name(), d)
		return
	}
	if err := s.parse(v); err != nil {
		l.errorf(attr.Expr.Range(), "%s: %v", s.name(), err)
	}
}

// listAttribute decodes a list of strings, or one string read as the
// environment reads it (comma-separated).
func (l *fileLoader) listAttribute(attr *hclsyntax.Attribute, s setting) {
	var items []string
	if d := firstError(gohcl.DecodeExpression(attr.Expr, nil, &items)); d != nil {
		var v string
		if firstError(gohcl.DecodeExpression(attr.Expr, nil, &v)) != nil {
			l.addDiag(s.name(), d)
			return
		}
		items = strings.Split(v, ",")
	}
	if err := s.items(items); err != nil {
		l.errorf(attr.Expr.Range(), "%s: %v", s.name(), err)
	}
}

func (l *fileLoader) setting(block, key string) (setting, bool) {
	for _, s := range l.table {
		if s.block == block && s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

func (l *fileLoader) isBlock(name string) bool {
	return slices.ContainsFunc(l.table, func(s setting) bool { return s.block == name })
}

// unknownKey reports a key the block does not have, with the closest key it
// does have, or else the blocks the key belongs in.
func (l *fileLoader) unknownKey(attr *hclsyntax.Attribute, block string) {
	where := ""
	if block != "" {
		where = fmt.Sprintf(" in block %q", block)
	}
	if block == "" && l.isBlock(attr.Name) {
		l.errorf(attr.NameRange, "%q is a block, not a key: write %s { ... }", attr.Name, attr.Name)
		return
	}
	var keys, homes []string
	for _, s := range l.table {
		if s.block == block {
			keys = append(keys, s.key)
		}
		if s.key == attr.Name {
			homes = append(homes, fmt.Sprintf("%q", s.block))
		}
	}
	hint := ""
	if m := suggest(attr.Name, keys); m != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", m)
	} else if len(homes) > 0 {
		hint = fmt.Sprintf(" (it belongs in block %s)", strings.Join(homes, " or "))
	}
	l.errorf(attr.NameRange, "unknown key %q%s%s", attr.Name, where, hint)
}

// unknownBlock reports a block that is not allowed where it is.
func (l *fileLoader) unknownBlock(blk *hclsyntax.Block, block string) {
	if _, ok := l.setting(block, blk.Type); ok {
		l.errorf(blk.TypeRange, "%q is a key, not a block: write %s = ...", blk.Type, blk.Type)
		return
	}
	if block != "" {
		l.errorf(blk.TypeRange, "unknown block %q in block %q (blocks do not nest)", blk.Type, block)
		return
	}
	var blocks []string
	for _, s := range l.table {
		if s.block != "" && !slices.Contains(blocks, s.block) {
			blocks = append(blocks, s.block)
		}
	}
	hint := ""
	if m := suggest(blk.Type, blocks); m != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", m)
	}
	l.errorf(blk.TypeRange, "unknown block %q%s", blk.Type, hint)
}

// suggest returns the candidate closest to given if it is close enough to
// be a typo (the threshold HCL itself uses), else "".
func suggest(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
