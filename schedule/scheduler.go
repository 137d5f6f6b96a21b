package schedule

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/picloud/picloud/models"
)

const (
	// DefaultPoll is the longest a Scheduler sleeps before it looks at the
	// database again: how soon it sees a schedule another process made.
	DefaultPoll = time.Second
	// dueBatch bounds the schedules claimed in one pass.
	dueBatch = 100
	// retryAfterError is the pause after the database failed a pass.
	retryAfterError = 2 * time.Second
)

// Fire runs one firing of a schedule: at is the firing's time. It is
// called on a goroutine of its own; ctx ends when the Scheduler stops.
type Fire func(ctx context.Context, s models.Schedule, at time.Time)

// Options configure a Scheduler.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Only tests set it.
	Now func() time.Time
	// Poll is DefaultPoll when zero.
	Poll time.Duration
}

// Scheduler fires the due schedules of a database.
type Scheduler struct {
	db     *models.DB
	fire   Fire
	logger *slog.Logger
	now    func() time.Time
	poll   time.Duration
	wake   chan struct{}
	firing sync.WaitGroup
}

// New returns a Scheduler that calls fire for every firing it claims.
func New(db *models.DB, fire Fire, opts Options) *Scheduler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	return &Scheduler{db: db, fire: fire, logger: opts.Logger, now: opts.Now, poll: opts.Poll,
		wake: make(chan struct{}, 1)}
}

// Wake makes Run look at the schedules now: call it after a change.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run fires due schedules until ctx ends, then waits for the firings it
// started.
func (s *Scheduler) Run(ctx context.Context) {
	defer s.firing.Wait()
	for {
		wait := s.poll
		next, err := s.Tick(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.logger.Warn("scheduler pass failed", "err", err)
			wait = retryAfterError
		case !next.IsZero():
			wait = min(wait, max(next.Sub(s.now()), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Tick claims and fires every schedule due now, and returns when the
// next firing of any schedule is due (zero: none).
func (s *Scheduler) Tick(ctx context.Context) (time.Time, error) {
	now := s.now()
	due, err := s.db.DueSchedules(ctx, now, dueBatch)
	if err != nil {
		return time.Time{}, err
	}
	for _, sch := range due {
		s.claim(ctx, sch, now)
	}
	next, ok, err := s.db.NextFiring(ctx)
	if err != nil || !ok {
		return time.Time{}, err
	}
	return next, nil
}

// claim moves sch on to its first firing after now and, if this process
// won the move, fires the firing that was due.
func (s *Scheduler) claim(ctx context.Context, sch models.Schedule, now time.Time) {
	log := s.logger.With("schedule", sch.ID, "script", sch.ScriptID, "app", sch.AppID)
	spec, parseErr := Parse(sch.Cron, sch.Timezone)
	next := time.Time{}
	if parseErr == nil {
		next = spec.Next(now)
	}
	if next.IsZero() {
		// A stored schedule that no longer parses, or never fires again:
		// park it far away rather than read it on every pass.
		log.Warn("schedule never fires again; parked", "cron", sch.Cron, "err", parseErr)
		next = now.AddDate(100, 0, 0)
	}
	won, err := s.db.ClaimFiring(ctx, sch.ID, sch.NextRunAt, next)
	switch {
	case err != nil:
		log.Warn("claim a firing", "err", err)
		return
	case !won, parseErr != nil:
		return // another process fires it, or nothing can
	}
	at := sch.NextRunAt
	s.firing.Go(func() { s.fire(ctx, sch, at) })
}
