// Package schedule owns cron triggers: parsing a schedule (cron with an
// optional seconds field, or a descriptor such as @hourly or @every 5m)
// in a time zone, and the Scheduler that fires due schedules.
//
// Each firing runs exactly once however many servers share the database:
// a scheduler claims a firing by moving the schedule's next_run_at on
// with a compare-and-set (models.ClaimFiring) that only one process wins,
// and only the winner fires. A server that was down fires what it missed
// once, at start, not once per missed firing: the claim moves the
// schedule to its first firing after now. A firing is claimed before it
// runs, so a process that dies between the two loses that firing (at
// most once, like cron).
//
// What a firing does is the caller's business (the composition root runs
// the script through its app's router with trigger "schedule").
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones do not depend on the host's files

	"github.com/robfig/cron/v3"
)

// DefaultTimezone is the zone of a schedule that names none.
const DefaultTimezone = "UTC"

// maxCron bounds the length of a cron expression.
const maxCron = 200

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed schedule.
type Spec struct {
	sched cron.Schedule
	loc   *time.Location
}

// Parse reads a cron expression ("*/5 * * * *", with an optional leading
// seconds field "*/10 * * * * *", or "@hourly", "@every 30s") in the IANA
// zone tz ("" is UTC).
func Parse(expr, tz string) (Spec, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return Spec{}, errors.New("cron: is required, e.g. \"*/5 * * * *\"")
	case len(expr) > maxCron:
		return Spec{}, fmt.Errorf("cron: at most %d characters", maxCron)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return Spec{}, errors.New("cron: give the zone in the timezone field, not in the expression")
	}
	if tz == "" {
		tz = DefaultTimezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || strings.EqualFold(tz, "local") {
		return Spec{}, fmt.Errorf("timezone: %q is not an IANA time zone such as \"Europe/Berlin\" or \"UTC\"", tz)
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return Spec{}, fmt.Errorf("cron: %q: %v (fields: [second] minute hour day-of-month month day-of-week)", expr, err)
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	return Spec{sched: sched, loc: loc}, nil
}

// Next returns the first firing strictly after t; the zero time when
// there is none (a date that never comes, such as February 30).
func (s Spec) Next(t time.Time) time.Time {
	return s.sched.Next(t.In(s.loc)).UTC()
}

// NextN returns the next n firings after t.
func (s Spec) NextN(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}
