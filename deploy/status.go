package deploy

import (
	"context"

	"github.com/picloud/picloud/actors"
)

// Status asks the router of every deployed app for its state; ctx bounds
// the wait. An app whose router does not answer is left out.
func (d *Deployer) Status(ctx context.Context) []actors.RouterStatus {
	d.mu.Lock()
	ids := make([]int64, 0, len(d.apps))
	for id := range d.apps {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	out := make([]actors.RouterStatus, 0, len(ids))
	for _, id := range ids {
		if st, err := d.AppStatus(ctx, id); err == nil {
			out = append(out, st)
		}
	}
	return out
}
