package appdir

import (
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// configFile is picloud.hcl:
//
//	app = "shop"               # the app's slug (default: the folder's name)
//
//	script "greet" {           # a script of the folder, by name
//	  routes = ["GET /greet/:name", "POST /greet"]
//	}
type configFile struct {
	App     string         `hcl:"app,optional"`
	Scripts []scriptConfig `hcl:"script,block"`
}

type scriptConfig struct {
	Name   string   `hcl:"name,label"`
	Routes []string `hcl:"routes,optional"`
	// Range is where the block is, for errors.
	Range hcl.Range `hcl:",def_range"`
}

// readConfig applies the folder's picloud.hcl, if there is one, to a.
// Problems in it come back as Errors; a file that cannot be read as err.
// With partial, blocks of scripts a does not hold are skipped.
func (a *App) readConfig(path string, partial bool) (Errors, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	file, diags := hclparse.NewParser().ParseHCL(src, path)
	if diags.HasErrors() {
		return diagErrors(diags), nil
	}
	var cfg configFile
	if diags := gohcl.DecodeBody(file.Body, nil, &cfg); diags.HasErrors() {
		return diagErrors(diags), nil
	}
	a.Name = cfg.App
	var errs Errors
	for _, sc := range cfg.Scripts {
		pos := Position{File: path, Line: sc.Range.Start.Line, Column: sc.Range.Start.Column}
		s := a.Script(sc.Name)
		if s == nil && partial {
			continue
		}
		if s == nil {
			errs = append(errs, &Error{pos, fmt.Sprintf("script %q is not in this folder (a script is NAME.go or has //picloud:name NAME)", sc.Name)})
			continue
		}
		for _, r := range sc.Routes {
			route, err := ParseRoute(r, pos)
			if err != nil {
				errs = append(errs, err.(*Error))
				continue
			}
			s.addRoute(route)
		}
	}
	return errs, nil
}

// diagErrors turns HCL diagnostics into Errors.
func diagErrors(diags hcl.Diagnostics) Errors {
	var errs Errors
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		pos := Position{}
		if d.Subject != nil {
			pos = Position{File: d.Subject.Filename, Line: d.Subject.Start.Line, Column: d.Subject.Start.Column}
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		errs = append(errs, &Error{pos, msg})
	}
	return errs
}
