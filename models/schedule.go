package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Schedule is a cron trigger of a script: the script runs at every
// firing of Cron in Timezone. NextRunAt is the firing due next; a
// scheduler claims it by moving it on (ClaimFiring), which only one
// process can do, so each firing runs once however many servers watch.
type Schedule struct {
	bun.BaseModel `bun:"table:schedules,alias:sch" json:"-"`

	ID       int64  `bun:"id,pk,autoincrement" json:"id"`
	AppID    int64  `bun:"app_id,notnull" json:"app_id"`
	ScriptID int64  `bun:"script_id,notnull" json:"script_id"`
	Cron     string `bun:"cron,notnull" json:"cron"`
	// Timezone is an IANA zone name ("Europe/Berlin"), "UTC" by default.
	Timezone  string    `bun:"timezone,notnull" json:"timezone"`
	NextRunAt time.Time `bun:"next_run_at,notnull" json:"next_run_at"`
	// LastFiredAt is the firing last claimed, nil before the first.
	LastFiredAt *time.Time `bun:"last_fired_at" json:"last_fired_at"`
	CreatedAt   time.Time  `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at,notnull" json:"updated_at"`
}
