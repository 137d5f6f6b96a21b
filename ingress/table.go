package ingress

import "github.com/asynkron/protoactor-go/actor"

// App is one app as the data plane sees it: where its router lives.
type App struct {
	ID     int64
	Slug   string
	Router *actor.PID
}

// Table is an immutable snapshot of the apps ingress can dispatch to.
// The control plane builds a new one on every change and swaps it in;
// the hot path reads it without locks.
type Table struct {
	defaultApp *App
	bySlug     map[string]*App
	byScript   map[int64]*App
}

// NewTable builds a snapshot. scripts maps every script id to its app id;
// defaultSlug names the app that serves hosts no other app claims.
func NewTable(apps []App, scripts map[int64]int64, defaultSlug string) *Table {
	t := &Table{
		bySlug:   make(map[string]*App, len(apps)),
		byScript: make(map[int64]*App, len(scripts)),
	}
	byID := make(map[int64]*App, len(apps))
	for i := range apps {
		a := apps[i]
		byID[a.ID] = &a
		t.bySlug[a.Slug] = &a
	}
	for scriptID, appID := range scripts {
		if a, ok := byID[appID]; ok {
			t.byScript[scriptID] = a
		}
	}
	t.defaultApp = t.bySlug[defaultSlug]
	return t
}

// ForHost returns the app that serves host, or nil.
func (t *Table) ForHost(host string) *App {
	return t.defaultApp
}

// ForScript returns the app that owns the script, or nil.
func (t *Table) ForScript(scriptID int64) *App {
	return t.byScript[scriptID]
}
