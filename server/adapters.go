package server

import (
	"cmp"
	"context"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/sandbox/sdk"
)

// The adapters between packages that keep to their own types so as not
// to import each other (DESIGN §2): ingress knows no models, admin no
// actors. Only the composition root knows both sides.

// invocationLog is ingress's Recorder over the models' writer. node is
// this server's node name: the node of a record that names none.
type invocationLog struct {
	w    *models.InvocationWriter
	node string
}

// Add implements ingress.Recorder. It copies by value and does not
// block, like the writer's Add.
func (l invocationLog) Add(inv ingress.Invocation) { l.w.Add(invocationRow(inv, l.node)) }

// AddRow stores a record of a call no HTTP request brought (a schedule,
// an invoke), naming this node when the record names none.
func (l invocationLog) AddRow(inv models.Invocation) {
	inv.Node = cmp.Or(inv.Node, l.node)
	l.w.Add(inv)
}

// invocationRow is the stored form of an ingress record; self names the
// node when the record does not.
func invocationRow(inv ingress.Invocation, self string) models.Invocation {
	return models.Invocation{
		RequestID:  inv.RequestID,
		AppID:      inv.AppID,
		ScriptID:   inv.ScriptID,
		Version:    inv.Version,
		RouteID:    inv.RouteID,
		Method:     inv.Method,
		Path:       inv.Path,
		Status:     inv.Status,
		DurationUS: inv.Duration.Microseconds(),
		Output:     inv.Output,
		Error:      inv.Error,
		CreatedAt:  inv.At,
		Trigger:    sdk.TriggerHTTP,
		Fetches:    deploy.InvocationFetches(inv.Fetches),
		Node:       cmp.Or(inv.Node, self),
	}
}

// adminDeployer is the deployer as admin sees it: AppStatus in admin's
// terms.
type adminDeployer struct {
	*deploy.Deployer
}

// AppStatus implements admin.Deployer.
func (d adminDeployer) AppStatus(ctx context.Context, appID int64) ([]admin.ScriptState, error) {
	st, err := d.Deployer.AppStatus(ctx, appID)
	if err != nil {
		return nil, err
	}
	return scriptStates(st), nil
}

// scriptStates is the state of the live version of every script in st;
// the pools of replaced versions, still draining, are left out.
func scriptStates(st actors.RouterStatus) []admin.ScriptState {
	out := make([]admin.ScriptState, 0, len(st.Pools))
	for _, p := range st.Pools {
		if !p.Live {
			continue
		}
		out = append(out, admin.ScriptState{ScriptID: p.ScriptID, Crashes: p.Crashes, ParkedUntil: p.ParkedUntil, ParkReason: p.ParkReason})
	}
	return out
}
