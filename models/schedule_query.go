package models

import (
	"context"
	"fmt"
	"time"
)

// CreateSchedule stores s and sets its ID and times. A script that is
// not the app's is ErrNotFound.
func (db *DB) CreateSchedule(ctx context.Context, s *Schedule) error {
	s.CreatedAt = now()
	s.UpdatedAt = s.CreatedAt
	s.NextRunAt = normalizeTime(s.NextRunAt)
	if _, err := db.bun.NewInsert().Model(s).Returning("id").Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w: script %d of app %d", ErrNotFound, s.ScriptID, s.AppID)
		}
		return fmt.Errorf("create schedule of script %d: %w", s.ScriptID, err)
	}
	return nil
}

// ScriptSchedules lists the schedules of a script, oldest first.
func (db *DB) ScriptSchedules(ctx context.Context, scriptID int64) ([]Schedule, error) {
	out := []Schedule{}
	if err := db.bun.NewSelect().Model(&out).Where("sch.script_id = ?", scriptID).Order("sch.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list schedules of script %d: %w", scriptID, err)
	}
	return out, nil
}

// UpdateSchedule changes the cron expression and time zone of schedule
// id of the script and moves its next firing to next, or answers
// ErrNotFound. A firing already claimed runs as claimed; the one due
// under the old expression is dropped.
func (db *DB) UpdateSchedule(ctx context.Context, scriptID, id int64, cron, timezone string, next time.Time) (*Schedule, error) {
	res, err := db.bun.NewUpdate().Model((*Schedule)(nil)).
		Set("cron = ?", cron).Set("timezone = ?", timezone).
		Set("next_run_at = ?", normalizeTime(next)).Set("updated_at = ?", now()).
		Where("id = ?", id).Where("script_id = ?", scriptID).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("update schedule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("%w: schedule %d of script %d", ErrNotFound, id, scriptID)
	}
	s := new(Schedule)
	if err := db.bun.NewSelect().Model(s).Where("sch.id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "schedule %d", id)
	}
	return s, nil
}

// DeleteSchedule removes schedule id of the script, or answers
// ErrNotFound.
func (db *DB) DeleteSchedule(ctx context.Context, scriptID, id int64) error {
	res, err := db.bun.NewDelete().Model((*Schedule)(nil)).Where("id = ?", id).Where("script_id = ?", scriptID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete schedule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: schedule %d of script %d", ErrNotFound, id, scriptID)
	}
	return nil
}

// DueSchedules returns up to limit schedules whose next firing is at or
// before at, the most overdue first.
func (db *DB) DueSchedules(ctx context.Context, at time.Time, limit int) ([]Schedule, error) {
	out := []Schedule{}
	err := db.bun.NewSelect().Model(&out).Where("sch.next_run_at <= ?", normalizeTime(at)).
		Order("sch.next_run_at").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list due schedules: %w", err)
	}
	return out, nil
}

// NextFiring returns the earliest next firing of any schedule; false when
// there are no schedules.
func (db *DB) NextFiring(ctx context.Context) (time.Time, bool, error) {
	var out []Schedule
	err := db.bun.NewSelect().Model(&out).Column("sch.next_run_at").Order("sch.next_run_at").Limit(1).Scan(ctx)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read next firing: %w", err)
	}
	if len(out) == 0 {
		return time.Time{}, false, nil
	}
	return out[0].NextRunAt, true, nil
}

// ClaimFiring claims the firing due of schedule id and moves the
// schedule on to next, if the schedule is still due then: a
// compare-and-set that exactly one of any number of concurrent callers
// wins (true). The others, and anyone after the winner, get false.
func (db *DB) ClaimFiring(ctx context.Context, id int64, due, next time.Time) (bool, error) {
	due = normalizeTime(due)
	res, err := db.bun.NewUpdate().Model((*Schedule)(nil)).
		Set("next_run_at = ?", normalizeTime(next)).Set("last_fired_at = ?", due).
		Where("id = ?", id).Where("next_run_at = ?", due).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("claim firing %s of schedule %d: %w", due.Format(time.RFC3339), id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
