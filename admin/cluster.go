package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// ClusterInfo is the cluster as this node sees it (the composition root
// adapts cluster.Node to it); nil when cluster mode is off.
type ClusterInfo interface {
	ClusterView(ctx context.Context) (ClusterView, error)
}

// ClusterView is GET /cluster: this node's name and the member table.
type ClusterView struct {
	Self    string          `json:"self"`
	Members []ClusterMember `json:"members"`
}

// ClusterMember is one member in the table. Executors and Inflight are
// known for this node only (null for the others).
type ClusterMember struct {
	Name      string    `json:"name"`
	Gossip    string    `json:"gossip"`
	Remote    string    `json:"remote"`
	Roles     []string  `json:"roles"`
	Status    string    `json:"status"`
	Executors *int      `json:"executors"`
	Inflight  *int      `json:"inflight"`
	JoinedAt  time.Time `json:"joined_at"`
}

// getCluster serves GET /cluster: 404 when this server is not in
// cluster mode.
func (a *API) getCluster(ctx context.Context, rc *fasthttp.RequestCtx) error {
	if a.cluster == nil {
		return fmt.Errorf("%w: cluster mode is off on this server (see the cluster block of config.hcl)", models.ErrNotFound)
	}
	v, err := a.cluster.ClusterView(ctx)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, v)
	return nil
}
