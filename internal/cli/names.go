package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/picloud/picloud/internal/apiclient"
)

// catalog maps ids to names for printing, and script names to ids for
// flags, loaded from the server on demand.
type catalog struct {
	c       *apiclient.Client
	apps    map[int64]apiclient.App
	scripts map[int64]apiclient.Script
	loaded  bool
}

func newCatalog(c *apiclient.Client) *catalog {
	return &catalog{c: c, apps: map[int64]apiclient.App{}, scripts: map[int64]apiclient.Script{}}
}

// load reads every app and script.
func (k *catalog) load(ctx context.Context) error {
	apps, err := k.c.Apps(ctx)
	if err != nil {
		return err
	}
	for _, a := range apps {
		k.apps[a.ID] = a
		scripts, err := k.c.Scripts(ctx, a.Slug)
		if err != nil {
			return err
		}
		for _, s := range scripts {
			k.scripts[s.ID] = s
		}
	}
	k.loaded = true
	return nil
}

// scriptName is "app/script" for a script id, reloading once for an id
// it does not know (a script made since); "#id" for one deleted.
func (k *catalog) scriptName(ctx context.Context, id int64) string {
	s, ok := k.scripts[id]
	if !ok && !k.loaded {
		_ = k.load(ctx)
		s, ok = k.scripts[id]
	}
	if !ok {
		if id == 0 {
			return "-"
		}
		return "#" + strconv.FormatInt(id, 10)
	}
	return k.apps[s.AppID].Slug + "/" + s.Name
}

// resolveScript finds a script by id or by name (in app when given, else
// in any app, which must be one). It returns the script and its app.
func (k *catalog) resolveScript(ctx context.Context, ref, app string) (apiclient.Script, apiclient.App, error) {
	if err := k.load(ctx); err != nil {
		return apiclient.Script{}, apiclient.App{}, err
	}
	var matches []apiclient.Script
	id, idErr := strconv.ParseInt(ref, 10, 64)
	for _, s := range k.scripts {
		a := k.apps[s.AppID]
		if app != "" && a.Slug != app && strconv.FormatInt(a.ID, 10) != app {
			continue
		}
		if s.Name == ref || (idErr == nil && s.ID == id) {
			matches = append(matches, s)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], k.apps[matches[0].AppID], nil
	case 0:
		if app != "" {
			return apiclient.Script{}, apiclient.App{}, fmt.Errorf("app %s has no script %q", app, ref)
		}
		return apiclient.Script{}, apiclient.App{}, fmt.Errorf("no script %q (see picloud scripts)", ref)
	}
	var in []string
	for _, s := range matches {
		in = append(in, k.apps[s.AppID].Slug)
	}
	return apiclient.Script{}, apiclient.App{}, fmt.Errorf("script %q is in several apps (%s): give --app", ref, strings.Join(in, ", "))
}
