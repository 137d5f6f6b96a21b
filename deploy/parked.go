package deploy

import (
	"context"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/models"
)

// RecordParked stores a parking this node's router made (see
// actors.WithParkReports), so that every node's router parks the version
// too: the row moves the app's revision, which every node follows (its
// change notification at once, the resync within ResyncInterval), and
// the next snapshot of the app names the parking. A router that parked
// it already keeps its own parking.
func (d *Deployer) RecordParked(ctx context.Context, p actors.Parked) error {
	return d.opts.DB.ParkScript(ctx, models.ParkedScript{ScriptID: p.ScriptID, AppID: p.AppID, Version: p.Version,
		ParkedUntil: p.Until, Node: d.opts.Node, Reason: p.Reason})
}
