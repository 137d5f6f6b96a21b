package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// ParkedScript is the parking of a script's version, shared by every
// node: the router of some node saw the version crash too often and
// parked it until ParkedUntil; every node's router parks it too as soon
// as it hears of the row. A row parks only while ParkedUntil is ahead and
// Version is the script's live version; a new live version, or new
// settings of the script or its app, delete it.
type ParkedScript struct {
	bun.BaseModel `bun:"table:parked_scripts"`

	ScriptID    int64     `bun:"script_id,pk" json:"script_id"`
	AppID       int64     `bun:"app_id,notnull" json:"app_id"`
	Version     int64     `bun:"version,notnull" json:"version"`
	ParkedUntil time.Time `bun:"parked_until,notnull" json:"parked_until"`
	// Node is the node whose router parked it; Reason says why.
	Node     string    `bun:"node,notnull" json:"node"`
	Reason   string    `bun:"reason,notnull" json:"reason"`
	ParkedAt time.Time `bun:"parked_at,notnull" json:"parked_at"`
}

// AfterScanRow implements bun.AfterScanRowHook.
func (p *ParkedScript) AfterScanRow(context.Context) error {
	p.ParkedUntil, p.ParkedAt = p.ParkedUntil.UTC(), p.ParkedAt.UTC()
	return nil
}
