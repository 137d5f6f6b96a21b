package actors

import "github.com/picloud/picloud/engine"

// Option configures a Runtime.
type Option func(*Runtime)

// WithEngine makes the Runtime's executors load scripts through e
// (engine.InProcess when not given).
func WithEngine(e engine.Engine) Option {
	return func(rt *Runtime) { rt.engine = e }
}
