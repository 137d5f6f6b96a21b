package actors

import (
	"time"

	"github.com/picloud/picloud/sandbox"
)

// Defaults for the zero fields of Limits.
const (
	DefaultMaxConcurrency = 8
	DefaultQueueLimit     = 256
	DefaultQueueTimeout   = time.Second
	DefaultTimeout        = 30 * time.Second
	DefaultMaxOutput      = sandbox.DefaultMaxOutput
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultMaxResponse    = sandbox.DefaultMaxResponseBody
	DefaultCrashLimit     = 5
	DefaultCrashWindow    = time.Minute
)

// FatalCrashLimit is how many times within its CrashWindow a script
// version may kill its worker process before it is parked, whatever its
// CrashLimit: such a crash costs every call in flight in the worker, of
// every script of the app, not just its own.
const FatalCrashLimit = 2

// WithDefaults returns l with every zero or negative field set to its
// default.
func (l Limits) WithDefaults() Limits {
	if l.MaxConcurrency <= 0 {
		l.MaxConcurrency = DefaultMaxConcurrency
	}
	if l.QueueLimit <= 0 {
		l.QueueLimit = DefaultQueueLimit
	}
	if l.QueueTimeout <= 0 {
		l.QueueTimeout = DefaultQueueTimeout
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxResponseBody <= 0 {
		l.MaxResponseBody = DefaultMaxResponse
	}
	if l.CrashLimit <= 0 {
		l.CrashLimit = DefaultCrashLimit
	}
	if l.CrashWindow <= 0 {
		l.CrashWindow = DefaultCrashWindow
	}
	return l
}
