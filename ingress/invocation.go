package ingress

import (
	"time"

	"github.com/picloud/picloud/actors"
)

// Invocation is the record of one script request ingress answered. It is
// ingress's own type, handed to the Recorder by value: the composition
// root adapts it to whatever stores it, so ingress never imports the
// models.
type Invocation struct {
	RequestID string
	AppID     int64
	ScriptID  int64 // 0 when no script was matched
	Version   int64
	RouteID   int64 // 0 when the script was called by id
	Method    string
	Path      string
	Status    int
	Duration  time.Duration
	Output    string
	// Error is "code: message" when the answer did not come from the
	// script (see actors.Result.ErrCode).
	Error string
	// At is when the answer was sent, UTC.
	At time.Time
	// Fetches are the outbound requests the script made.
	Fetches []actors.FetchRecord
	// Node is the cluster node that ran the script; "" means this one,
	// which the recorder names.
	Node string
}
