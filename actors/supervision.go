package actors

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// The router is the supervisor strategy of its executors: protoactor
// hands it every executor failure, on the router's own mailbox. An
// executor fails on purpose when a call left its interpreter unusable
// (*discardInstance: the script panicked, ran out of time or killed its
// worker process); the router counts that crash against the script
// version and parks it past its limits (parking.go), answers the
// request, and restarts the executor with a fresh interpreter, unless
// its pool no longer needs it. Any other failure is a bug of the
// executor: its request is answered 500, nothing is counted, and the
// executor restarts all the same.

var _ actor.SupervisorStrategy = (*appRouter)(nil)

// HandleFailure implements actor.SupervisorStrategy.
func (r *appRouter) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
	_ *actor.RestartStatistics, reason, _ any) {
	ctx, _ := sup.(actor.Context)
	ex := r.executorOf(child)
	if ex == nil || ctx == nil { // not one the router knows (any more)
		sup.StopChildren(child)
		return
	}
	d, crashed := reason.(*discardInstance)
	if crashed {
		// Counted before the caller hears of it: a request sent after
		// the answer finds the script parked.
		r.recordCrash(ctx, ex.pool, d.fatal, d.String())
	} else {
		r.seed.logger.Error("executor failed", slog.String("app", r.slug),
			slog.String("executor", child.Id), slog.Any("err", reason))
	}
	if job := ex.job; job != nil && job.inv.Reply != nil {
		if crashed {
			job.inv.Reply.Send(d.res)
		} else {
			job.inv.Reply.Send(r.failed(ex.pool, job, 500, CodeInternal, fmt.Sprintf("executor failed: %v", reason)))
		}
	}
	ex.job = nil
	ex.direct = nil // the restart replaces the executor's instance
	if ex.pool.queue.len() == 0 && r.redundant(ex) {
		r.retire(ctx, ex)
		r.stopIfDrained(ctx)
		return
	}
	// The restart is a system message, handled before the next request
	// sent to the executor.
	sup.RestartChildren(child)
	r.executorFree(ctx, ex)
}

// executorOf returns the router's executor whose PID is pid, or nil.
func (r *appRouter) executorOf(pid *actor.PID) *executorRef {
	for _, ex := range r.executors {
		if ex.pid.Equal(pid) {
			return ex
		}
	}
	return nil
}
