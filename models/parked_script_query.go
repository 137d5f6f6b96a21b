package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// maxParkReason bounds the reason stored with a parking; the rest is in
// the node's log.
const maxParkReason = 1000

// ParkScript records that p.Node parked version p.Version of script
// p.ScriptID until p.ParkedUntil, replacing an earlier parking of the
// script, and deletes the parkings whose time has passed. A script that
// is gone (or not of p.AppID) is ErrNotFound.
func (db *DB) ParkScript(ctx context.Context, p ParkedScript) error {
	p.ParkedUntil = normalizeTime(p.ParkedUntil)
	p.ParkedAt = now()
	p.Reason = recordedText(p.Reason, maxParkReason)
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*ParkedScript)(nil)).
			Where("parked_until <= ?", p.ParkedAt).Exec(ctx); err != nil {
			return fmt.Errorf("delete past parkings: %w", err)
		}
		_, err := tx.NewInsert().Model(&p).
			On("CONFLICT (script_id) DO UPDATE").
			Set("app_id = EXCLUDED.app_id, version = EXCLUDED.version, parked_until = EXCLUDED.parked_until").
			Set("node = EXCLUDED.node, reason = EXCLUDED.reason, parked_at = EXCLUDED.parked_at").
			Exec(ctx)
		switch {
		case isForeignKeyViolation(err):
			return fmt.Errorf("%w: app %d has no script %d", ErrNotFound, p.AppID, p.ScriptID)
		case err != nil:
			return fmt.Errorf("park script %d version %d: %w", p.ScriptID, p.Version, err)
		}
		return nil
	})
}

// ParkedScripts returns the parkings of app appID's scripts that hold at
// at (of any version: the caller compares with the live one).
func (db *DB) ParkedScripts(ctx context.Context, appID int64, at time.Time) ([]ParkedScript, error) {
	out := []ParkedScript{}
	if err := db.bun.NewSelect().Model(&out).
		Where("app_id = ?", appID).Where("parked_until > ?", normalizeTime(at)).
		Order("script_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read parked scripts of app %d: %w", appID, err)
	}
	return out, nil
}

// ScriptParking returns the parking of script scriptID that holds at at
// (of any version), or nil when there is none.
func (db *DB) ScriptParking(ctx context.Context, scriptID int64, at time.Time) (*ParkedScript, error) {
	var out []ParkedScript
	if err := db.bun.NewSelect().Model(&out).
		Where("script_id = ?", scriptID).Where("parked_until > ?", normalizeTime(at)).
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("read parking of script %d: %w", scriptID, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return &out[0], nil
}

// unparkScript deletes the parking of a script whose live version or
// settings change: the new pool starts afresh on every node, as it does
// on the node that parked it.
func unparkScript(ctx context.Context, idb bun.IDB, scriptID int64) error {
	if _, err := idb.NewDelete().Model((*ParkedScript)(nil)).Where("script_id = ?", scriptID).Exec(ctx); err != nil {
		return fmt.Errorf("unpark script %d: %w", scriptID, err)
	}
	return nil
}

// unparkApp deletes the parkings of an app's scripts, whose limits the
// app's new settings change.
func unparkApp(ctx context.Context, idb bun.IDB, appID int64) error {
	if _, err := idb.NewDelete().Model((*ParkedScript)(nil)).Where("app_id = ?", appID).Exec(ctx); err != nil {
		return fmt.Errorf("unpark scripts of app %d: %w", appID, err)
	}
	return nil
}
