package admin

import (
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
	spec, err := schedule.Parse(in.Cron, in.Timezone)
	if err != nil {
		field := "cron"
		if strings.HasPrefix(err.Error(), "timezone") {
			field = "timezone"
		}
		return invalid(field, "%v", err)
	}
	next := spec.Next(time.Now())
	if next.IsZero() {
		return invalid("cron", "%q never fires", in.Cron)
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

func (a *API) deleteSchedule(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	sid, err := idParam(rc, "schedule")
	if err != nil {
		return err
	}
	if err := a.db.DeleteSchedule(ctx, id, sid); err != nil {
		return err
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
