package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// updateAttempts bounds the retries of a script update that lost a race
// for the next version number (a safety net: the row lock on PostgreSQL
// and SQLite's single writer already prevent it).
const updateAttempts = 3

// CreateScript stores a new script of app appID with source as version 1,
// live. A name taken in the app is ErrConflict; a missing app ErrNotFound.
func (db *DB) CreateScript(ctx context.Context, appID int64, name, source string) (*Script, *ScriptVersion, error) {
	return db.CreateScriptWith(ctx, appID, name, NewVersion{Source: source})
}

// CreateScriptWith is CreateScript with a message for version 1.
func (db *DB) CreateScriptWith(ctx context.Context, appID int64, name string, v NewVersion) (*Script, *ScriptVersion, error) {
	var script *Script
	var version *ScriptVersion
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		script, version, err = createScript(ctx, tx, appID, name, v)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return script, version, nil
}

func createScript(ctx context.Context, idb bun.IDB, appID int64, name string, nv NewVersion) (*Script, *ScriptVersion, error) {
	at := now()
	script := &Script{AppID: appID, Name: name, LiveVersion: 1, CreatedAt: at, UpdatedAt: at}
	if _, err := idb.NewInsert().Model(script).Returning("id").Exec(ctx); err != nil {
		switch {
		case isUniqueViolation(err):
			return nil, nil, fmt.Errorf("%w: app %d already has a script named %q", ErrConflict, appID, name)
		case isForeignKeyViolation(err):
			return nil, nil, fmt.Errorf("%w: app %d", ErrNotFound, appID)
		}
		return nil, nil, fmt.Errorf("create script %q: %w", name, err)
	}
	version, err := insertVersion(ctx, idb, script.ID, 1, nv, at)
	if err != nil {
		return nil, nil, fmt.Errorf("create script %q: %w", name, err)
	}
	return script, version, nil
}

func insertVersion(ctx context.Context, idb bun.IDB, scriptID, number int64, nv NewVersion, at time.Time) (*ScriptVersion, error) {
	v := &ScriptVersion{
		ScriptID:  scriptID,
		Version:   number,
		Source:    nv.Source,
		Hash:      SourceHash(nv.Source),
		Message:   nv.Message,
		CreatedAt: at,
	}
	if _, err := idb.NewInsert().Model(v).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("store version %d of script %d: %w", number, scriptID, err)
	}
	return v, nil
}

// UpdateScript stores source as the script's next version and makes it
// live. Concurrent updates of one script get distinct, consecutive
// version numbers. A source identical to the live version's changes
// nothing: the live version comes back, so deploying the same file
// twice makes no new version.
func (db *DB) UpdateScript(ctx context.Context, id int64, source string) (*Script, *ScriptVersion, error) {
	return db.UpdateScriptWith(ctx, id, NewVersion{Source: source})
}

// UpdateScriptWith is UpdateScript with a message for the new version. The
// live source again makes no new version and leaves the live version's
// message as it is.
func (db *DB) UpdateScriptWith(ctx context.Context, id int64, v NewVersion) (*Script, *ScriptVersion, error) {
	for attempt := 1; ; attempt++ {
		script, version, err := db.updateScriptOnce(ctx, id, v)
		if err != nil && isUniqueViolation(err) && attempt < updateAttempts {
			continue
		}
		return script, version, err
	}
}

func (db *DB) updateScriptOnce(ctx context.Context, id int64, nv NewVersion) (*Script, *ScriptVersion, error) {
	var script *Script
	var version *ScriptVersion
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if script, err = db.lockScript(ctx, tx, id); err != nil {
			return err
		}
		live := new(ScriptVersion)
		err = tx.NewSelect().Model(live).
			Where("script_id = ? AND version = ?", id, script.LiveVersion).Scan(ctx)
		if err != nil {
			return notFound(err, "live version %d of script %d", script.LiveVersion, id)
		}
		if live.Hash == SourceHash(nv.Source) && live.Source == nv.Source {
			version = live
			return nil
		}
		var latest int64
		if err := tx.NewSelect().Model((*ScriptVersion)(nil)).
			ColumnExpr("COALESCE(MAX(version), 0)").
			Where("script_id = ?", id).
			Scan(ctx, &latest); err != nil {
			return fmt.Errorf("update script %d: find latest version: %w", id, err)
		}
		at := now()
		if version, err = insertVersion(ctx, tx, id, latest+1, nv, at); err != nil {
			return fmt.Errorf("update script %d: %w", id, err)
		}
		script.LiveVersion, script.UpdatedAt = version.Version, at
		return setLiveVersion(ctx, tx, script)
	})
	if err != nil {
		return nil, nil, err
	}
	return script, version, nil
}

// lockScript loads a script inside tx, locking its row on PostgreSQL so
// changes of one script run one after another.
func (db *DB) lockScript(ctx context.Context, tx bun.Tx, id int64) (*Script, error) {
	script := new(Script)
	q := tx.NewSelect().Model(script).Where("id = ?", id)
	if err := db.forUpdate(q).Scan(ctx); err != nil {
		return nil, notFound(err, "script %d", id)
	}
	return script, nil
}

// setLiveVersion makes script.LiveVersion live, and unparks the script:
// the version it makes live starts afresh.
func setLiveVersion(ctx context.Context, idb bun.IDB, script *Script) error {
	if _, err := idb.NewUpdate().Model(script).
		Column("live_version", "updated_at").
		WherePK().
		Exec(ctx); err != nil {
		return fmt.Errorf("set live version of script %d to %d: %w", script.ID, script.LiveVersion, err)
	}
	return unparkScript(ctx, idb, script.ID)
}

// RollbackScript makes an existing version of the script live again. A
// missing script or version is ErrNotFound.
func (db *DB) RollbackScript(ctx context.Context, id, version int64) (*Script, error) {
	var script *Script
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if script, err = db.lockScript(ctx, tx, id); err != nil {
			return err
		}
		exists, err := tx.NewSelect().Model((*ScriptVersion)(nil)).
			Where("script_id = ? AND version = ?", id, version).
			Exists(ctx)
		if err != nil {
			return fmt.Errorf("roll back script %d: %w", id, err)
		}
		if !exists {
			return fmt.Errorf("%w: script %d has no version %d", ErrNotFound, id, version)
		}
		script.LiveVersion, script.UpdatedAt = version, now()
		return setLiveVersion(ctx, tx, script)
	})
	if err != nil {
		return nil, err
	}
	return script, nil
}

// Script returns one script.
func (db *DB) Script(ctx context.Context, id int64) (*Script, error) {
	script := new(Script)
	if err := db.bun.NewSelect().Model(script).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "script %d", id)
	}
	return script, nil
}

// UpdateScriptSettings replaces the settings of a script and returns the
// script as stored. It makes no new version, but unparks the script: its
// live version starts afresh under the new limits.
func (db *DB) UpdateScriptSettings(ctx context.Context, id int64, settings ScriptSettings) (*Script, error) {
	script := &Script{ID: id, Settings: settings, UpdatedAt: now()}
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(script).
			Column("timeout_ms", "max_concurrency", "max_output", "max_response_body", "updated_at").
			WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("update settings of script %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("%w: script %d", ErrNotFound, id)
		}
		return unparkScript(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return db.Script(ctx, id)
}

// ListScripts returns the scripts of an app, ordered by name.
func (db *DB) ListScripts(ctx context.Context, appID int64) ([]Script, error) {
	scripts := []Script{}
	if err := db.bun.NewSelect().Model(&scripts).
		Where("app_id = ?", appID).
		Order("name").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("list scripts of app %d: %w", appID, err)
	}
	return scripts, nil
}

// DeleteScript deletes a script; its versions and routes go with it.
func (db *DB) DeleteScript(ctx context.Context, id int64) error {
	res, err := db.bun.NewDelete().Model((*Script)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete script %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%w: script %d", ErrNotFound, id)
	}
	return nil
}

// ScriptVersions returns every version of a script, newest first. A
// script without versions (or a missing one) gives an empty list.
func (db *DB) ScriptVersions(ctx context.Context, scriptID int64) ([]ScriptVersion, error) {
	versions := []ScriptVersion{}
	if err := db.bun.NewSelect().Model(&versions).
		Where("script_id = ?", scriptID).
		Order("version DESC").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("list versions of script %d: %w", scriptID, err)
	}
	return versions, nil
}

// ScriptVersion returns one version of a script.
func (db *DB) ScriptVersion(ctx context.Context, scriptID, version int64) (*ScriptVersion, error) {
	v := new(ScriptVersion)
	if err := db.bun.NewSelect().Model(v).
		Where("script_id = ? AND version = ?", scriptID, version).
		Scan(ctx); err != nil {
		return nil, notFound(err, "version %d of script %d", version, scriptID)
	}
	return v, nil
}

// liveScriptRow is one row of the LiveScripts join.
type liveScriptRow struct {
	ScriptID       int64          `bun:"script_id"`
	AppID          int64          `bun:"app_id"`
	Name           string         `bun:"name"`
	LiveVersion    int64          `bun:"live_version"`
	CreatedAt      time.Time      `bun:"created_at"`
	UpdatedAt      time.Time      `bun:"updated_at"`
	Settings       ScriptSettings `bun:"embed:"`
	VersionID      int64          `bun:"version_id"`
	Source         string         `bun:"source"`
	Hash           string         `bun:"hash"`
	VersionCreated time.Time      `bun:"version_created_at"`
}

// LiveScripts returns every script of an app with its live version, in one
// query, ordered by name.
func (db *DB) LiveScripts(ctx context.Context, appID int64) ([]LiveScript, error) {
	var rows []liveScriptRow
	if err := db.bun.NewSelect().
		TableExpr("scripts AS s").
		Join("JOIN script_versions AS sv ON sv.script_id = s.id AND sv.version = s.live_version").
		ColumnExpr("s.id AS script_id, s.app_id, s.name, s.live_version, s.created_at, s.updated_at").
		ColumnExpr("s.timeout_ms, s.max_concurrency, s.max_output, s.max_response_body").
		ColumnExpr("sv.id AS version_id, sv.source, sv.hash, sv.created_at AS version_created_at").
		Where("s.app_id = ?", appID).
		Order("s.name").
		Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("load live scripts of app %d: %w", appID, err)
	}
	live := make([]LiveScript, len(rows))
	for i, r := range rows {
		live[i] = LiveScript{
			Script: Script{
				ID: r.ScriptID, AppID: r.AppID, Name: r.Name, LiveVersion: r.LiveVersion, Settings: r.Settings,
				CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
			},
			Version: ScriptVersion{
				ID: r.VersionID, ScriptID: r.ScriptID, Version: r.LiveVersion,
				Source: r.Source, Hash: r.Hash, CreatedAt: r.VersionCreated.UTC(),
			},
		}
	}
	return live, nil
}
