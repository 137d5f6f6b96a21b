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
// fails with an error wrapping engine.ErrExecutorLost (and so
// engine.ErrWorkerCrashed) when the owner dies under it, so the executor
// answers 502 executor_lost and its next call loads the script again, on
// a live member. A call whose slot moved before it reached the script
// (the owner left or a node came back: the activation it reaches has no
// such instance) fails with engine.ErrInstanceLost: nothing ran, and the
// executor runs it again on a fresh load, on the new owner.
//
// A script's host services (picloud.KV, Secret, Fetch, Invoke) are
// served by the calling node, whichever member runs the script: a Call
// carries a HostRef to the Host its executor opened, and the owner sends
// each of the script's host calls back to it (hostcalls.go). So the app's
// scope, the call's trigger and Invoke depth, its time budget, the
// fetches its invocation record lists and the secrets masked there are
// the caller's, as for a local instance.
package executors
