package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/picloud/picloud/models"
)

// ChangeFeed is a source of change notifications (models.ChangeFeed on
// PostgreSQL): Next returns the id of the next app whose stored state
// changed; an error means the feed is broken and is closed.
type ChangeFeed interface {
	Next(ctx context.Context) (appID int64, err error)
	Close(ctx context.Context) error
}

// Backoff between attempts to listen again after a feed broke.
const (
	followBackoff    = 100 * time.Millisecond
	followMaxBackoff = 5 * time.Second
)

// Follow makes each change live as soon as its notification arrives
// (another node's write, or this one's), on top of Run's periodic
// resync. listen opens a feed. When it fails or the feed breaks, Follow
// waits (backing off up to 5 s) and listens again, and then resyncs in
// full: what was committed while nobody listened was not heard. It
// returns when ctx ends.
func (d *Deployer) Follow(ctx context.Context, listen func(context.Context) (ChangeFeed, error)) {
	wait := followBackoff
	first := true
	for ctx.Err() == nil {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, followMaxBackoff)
		}
		first = false
		feed, err := listen(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.opts.Logger.Warn("listen for changes; the periodic resync carries on", "err", err, "retry_in", wait)
			}
			continue
		}
		// Listening from here on: catching up now misses nothing.
		if err := d.Resync(ctx); err != nil && ctx.Err() == nil {
			d.opts.Logger.Warn("resync with the database", "err", err)
		}
		err = d.follow(ctx, feed)
		_ = feed.Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return
		}
		d.opts.Logger.Warn("change notifications lost; listening again", "err", err)
		wait = followBackoff
	}
}

// follow makes the changes of feed live until it breaks.
func (d *Deployer) follow(ctx context.Context, feed ChangeFeed) error {
	for {
		appID, err := feed.Next(ctx)
		if err != nil {
			return err
		}
		if err := d.AppNotified(ctx, appID); err != nil && ctx.Err() == nil {
			// The periodic resync tries again.
			d.opts.Logger.Warn("deploy a notified change", "app", appID, "err", err)
		}
	}
}

// AppNotified makes app appID live as stored now, unless it is live at
// its stored revision already (this node made the change, or heard of it
// before): a notification costs one query when there is nothing to do.
func (d *Deployer) AppNotified(ctx context.Context, appID int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	rev, err := d.opts.DB.AppRevision(ctx, appID)
	live, ok := d.apps[appID]
	switch {
	case errors.Is(err, models.ErrNotFound):
		if !ok {
			return nil
		}
	case err != nil:
		return fmt.Errorf("read revision of app %d: %w", appID, err)
	case ok && live.revision == rev:
		return nil
	}
	if err := d.reloadLocked(ctx, appID); err != nil {
		return err
	}
	return d.publishLocked(ctx)
}
