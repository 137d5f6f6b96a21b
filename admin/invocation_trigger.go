package admin

import (
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/sandbox/sdk"
)

// triggerParam reads the trigger filter of the invocation list and
// stream: what started the call, as its record names it ("" when
// absent). The UI lists a script's last scheduled runs with it.
func triggerParam(args *fasthttp.Args) (string, error) {
	switch raw := string(args.Peek("trigger")); raw {
	case "", sdk.TriggerHTTP, sdk.TriggerSchedule, sdk.TriggerInvoke:
		return raw, nil
	default:
		return "", invalid("trigger", "must be %q, %q or %q, got %q", sdk.TriggerHTTP, sdk.TriggerSchedule, sdk.TriggerInvoke, raw)
	}
}
