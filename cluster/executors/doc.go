// Package executors spreads script executors over a cluster: Engine is
// an engine.Engine that places each executor slot's instance on the
// member that owns its identity ("<app id>/<script id>/<version>/<slot>",
// cluster kind Kind, members with the executor role), and Kind is the
// virtual actor that holds such instances on their owner, loaded through
// that node's own engine (worker processes: every sandbox guarantee holds
// there as on the caller's node).
//
// An instance whose owner is the node that loads it comes straight from
// the local engine: its calls never touch the network. Any other call
// crosses as protobuf (executors.proto, carrying the worker protocol's
// request and result), waits no longer than the caller's context, and
// fails with an error wrapping engine.ErrWorkerCrashed when the owner
// dies under it, so the executor answers 502 and its next call loads the
// script again, on a live member.
//
// Limits: the SDK's per-call host services (KV, secrets, fetch) are not
// carried across nodes yet; a remote instance runs with what the owner's
// engine gives every call.
package executors
