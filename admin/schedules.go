package admin

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/schedule"
)

// nextRunsShown is how many upcoming firings a schedule lists.
const nextRunsShown = 5

// createScheduleInput is POST /scripts/{id}/schedules.
type createScheduleInput struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
}

// scheduleView is a schedule with its next firings.
type scheduleView struct {
	models.Schedule
	NextRuns []time.Time `json:"next_runs"`
}

func (a *API) scheduleView(s models.Schedule) scheduleView {
	v := scheduleView{Schedule: s, NextRuns: []time.Time{}}
	if spec, err := schedule.Parse(s.Cron, s.Timezone); err == nil {
		v.NextRuns = append(v.NextRuns, s.NextRunAt)
		v.NextRuns = append(v.NextRuns, spec.NextN(s.NextRunAt, nextRunsShown-1)...)
	}
	return v
}

func (a *API) listSchedules(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	if _, err := a.db.Script(ctx, id); err != nil {
		return err
	}
	items, err := a.db.ScriptSchedules(ctx, id)
	if err != nil {
		return err
	}
	views := make([]scheduleView, len(items))
	for i, s := range items {
		views[i] = a.scheduleView(s)
	}
	a.reply(rc, fasthttp.StatusOK, list(views))
	return nil
}

func (a *API) createSchedule(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	script, err := a.db.Script(ctx, id)
	if err != nil {
		return err
	}
	var in createScheduleInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if in.Timezone == "" {
		in.Timezone = schedule.DefaultTimezone
	}
	next, err := firstFiring(in.Cron, in.Timezone)
	if err != nil {
		return err
	}
	s := &models.Schedule{AppID: script.AppID, ScriptID: script.ID, Cron: in.Cron, Timezone: in.Timezone, NextRunAt: next}
	if err := a.db.CreateSchedule(ctx, s); err != nil {
		return err
	}
	if a.scheduler != nil {
		a.scheduler.Wake()
	}
	a.reply(rc, fasthttp.StatusCreated, a.scheduleView(*s))
	return nil
}

// firstFiring checks a cron expression in a time zone and answers its
// next firing from now; bad input is an error naming its field.
func firstFiring(cron, timezone string) (time.Time, error) {
	spec, err := schedule.Parse(cron, timezone)
	if err != nil {
		field := "cron"
		if strings.HasPrefix(err.Error(), "timezone") {
			field = "timezone"
		}
		return time.Time{}, invalid(field, "%v", err)
	}
	next := spec.Next(time.Now())
	if next.IsZero() {
		return time.Time{}, invalid("cron", "%q never fires", cron)
	}
	return next, nil
}

// updateScheduleInput is PATCH /scripts/{id}/schedules/{schedule}: the
// fields to change; absent ones keep their value.
type updateScheduleInput struct {
	Cron     *string `json:"cron"`
	Timezone *string `json:"timezone"`
}

// updateSchedule serves PATCH /scripts/{id}/schedules/{schedule}: a new
// cron expression or time zone, the next firing computed afresh.
func (a *API) updateSchedule(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, sid, err := scheduleParams(rc)
	if err != nil {
		return err
	}
	var in updateScheduleInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	cur, err := a.scriptSchedule(ctx, id, sid)
	if err != nil {
		return err
	}
	cron, tz := cur.Cron, cur.Timezone
	if in.Cron != nil {
		cron = *in.Cron
	}
	if in.Timezone != nil {
		tz = cmp.Or(*in.Timezone, schedule.DefaultTimezone)
	}
	next, err := firstFiring(cron, tz)
	if err != nil {
		return err
	}
	s, err := a.db.UpdateSchedule(ctx, id, sid, cron, tz, next)
	if err != nil {
		return err
	}
	if a.scheduler != nil {
		a.scheduler.Wake()
	}
	a.reply(rc, fasthttp.StatusOK, a.scheduleView(*s))
	return nil
}

// scheduleParams reads the {id} (script) and {schedule} path parameters.
func scheduleParams(rc *fasthttp.RequestCtx) (id, sid int64, err error) {
	if id, err = idParam(rc, "id"); err != nil {
		return 0, 0, err
	}
	if sid, err = idParam(rc, "schedule"); err != nil {
		return 0, 0, err
	}
	return id, sid, nil
}

// scriptSchedule finds schedule sid of script id, or answers ErrNotFound.
func (a *API) scriptSchedule(ctx context.Context, id, sid int64) (*models.Schedule, error) {
	items, err := a.db.ScriptSchedules(ctx, id)
	if err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].ID == sid {
			return &items[i], nil
		}
	}
	return nil, notFoundf("schedule %d of script %d", sid, id)
}

func (a *API) deleteSchedule(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, sid, err := scheduleParams(rc)
	if err != nil {
		return err
	}
	if err := a.db.DeleteSchedule(ctx, id, sid); err != nil {
		return err
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
