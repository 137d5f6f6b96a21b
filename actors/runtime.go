// Package actors owns the router and executor actors of the data plane;
// it never touches the DB.
//
// Every app has one router actor ("app-<id>"): it owns the app's route
// trie, built from the AppSnapshot the control plane sends, and an
// executor pool per live script version. An Invoke sent to the router is
// matched to a script version and handed to an executor, a child of the
// router that owns one compiled interpreter and runs one request at a
// time. The executor writes the Result straight to the Invoke's Reply,
// so a request costs no future and the router never waits for a script.
//
// Pools grow on demand up to Limits.MaxConcurrency, queue up to
// Limits.QueueLimit for at most Limits.QueueTimeout (then 503), and
// shrink to zero after Limits.IdleTimeout. A call that overruns
// Limits.Timeout is stopped and answered 504, and its executor restarts
// with a fresh interpreter. A script version that crashes more than
// Limits.CrashLimit times within Limits.CrashWindow, or kills its worker
// process more than FatalCrashLimit times, is parked (503, nothing runs)
// until the window passes or a new version comes (see parking.go). The
// router is the supervisor of its executors (supervision.go). A new snapshot switches new requests to the new versions
// at once; the old pools finish what they hold and stop.
//
// All mailboxes run on a WorkerDispatcher: long-lived goroutines instead
// of one new goroutine per mailbox wake-up.
//
// Scripts are loaded through an engine.Engine (in this process, or in
// worker processes). The messages above are Go values for the calls
// within one process; the forms of Request and Result that cross a node
// are in actorspb, whose doc says how a reply finds its caller there.
package actors

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/engine"
)

// shutdownGrace bounds how long Shutdown waits for routers to drain.
const shutdownGrace = 10 * time.Second

// Runtime is the actor system of the data plane: it starts app routers
// and delivers messages to them.
type Runtime struct {
	system     *actor.ActorSystem
	dispatcher *WorkerDispatcher
	logger     *slog.Logger
	engine     engine.Engine
	hosts      HostProvider
	onPark     func(Parked) // see WithParkReports

	mu      sync.Mutex
	routers map[string]chan struct{} // router PID id -> closed once stopped
}

// NewRuntime starts an actor system whose own logs at Warn and above go
// to logger (nil: slog.Default()).
func NewRuntime(logger *slog.Logger, opts ...Option) *Runtime {
	if logger == nil {
		logger = slog.Default()
	}
	libLogger := slog.New(minLevelHandler{Handler: logger.Handler(), min: slog.LevelWarn}).
		With(slog.String("lib", "protoactor"))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return libLogger
	}))
	rt := &Runtime{
		system:     system,
		dispatcher: NewWorkerDispatcher(DefaultThroughput, DefaultWorkerIdle),
		logger:     logger,
		routers:    map[string]chan struct{}{},
		engine:     engine.InProcess{},
	}
	for _, opt := range opts {
		opt(rt)
	}
	system.EventStream.Subscribe(rt.onEvent)
	return rt
}

// SpawnRouter starts the router of an app, named "app-<id>". It serves
// nothing until it is sent the app's *AppSnapshot.
func (rt *Runtime) SpawnRouter(appID int64, slug string) (*actor.PID, error) {
	name := "app-" + strconv.FormatInt(appID, 10)
	done := make(chan struct{})
	seed := &routerSeed{appID: appID, slug: slug, dispatcher: rt.dispatcher, logger: rt.logger, engine: rt.engine, hosts: rt.hosts,
		onPark:    rt.onPark,
		afterlife: &afterlife{handle: answerLateInvoke(slug)}}
	seed.stopped = func() {
		close(done)
		rt.mu.Lock()
		delete(rt.routers, name)
		rt.mu.Unlock()
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newAppRouter(seed) },
		actor.WithDispatcher(rt.dispatcher),
		actor.WithMailbox(func() actor.Mailbox { return newBatchMailbox(seed.afterlife) }),
		// The router supervises its executors itself (supervision.go).
	)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	pid, err := rt.system.Root.SpawnNamed(props, name)
	if err != nil {
		return nil, fmt.Errorf("spawn router for app %d (%s): %w", appID, slug, err)
	}
	rt.routers[name] = done
	return pid, nil
}

// Send delivers msg (an *Invoke or *AppSnapshot) to pid without waiting.
func (rt *Runtime) Send(pid *actor.PID, msg any) {
	rt.system.Root.Send(pid, msg)
}

// Stop drains the router pid: it answers new requests 503, finishes the
// ones it holds, stops its executors and then itself.
func (rt *Runtime) Stop(pid *actor.PID) {
	rt.system.Root.Send(pid, &drain{})
}

// Shutdown drains every router, waits for them (at most a few seconds)
// and stops the actor system.
func (rt *Runtime) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	rt.mu.Lock()
	waiting := make([]chan struct{}, 0, len(rt.routers))
	for name, done := range rt.routers {
		rt.system.Root.Send(rt.system.NewLocalPID(name), &drain{})
		waiting = append(waiting, done)
	}
	rt.mu.Unlock()
	for _, done := range waiting {
		select {
		case <-done:
		case <-ctx.Done():
			rt.logger.Warn("actors: shutdown did not wait for every app router to drain")
			rt.system.Shutdown()
			return
		}
	}
	// The dead-letter subscription stays: an Invoke sent after Shutdown
	// is still answered.
	rt.system.Shutdown()
}

// onEvent answers an Invoke that reached no router (the app's router is
// gone) instead of leaving its caller waiting.
func (rt *Runtime) onEvent(evt any) {
	dl, ok := evt.(*actor.DeadLetterEvent)
	if !ok {
		return
	}
	if inv, ok := dl.Message.(*Invoke); ok {
		inv.Reply.Send(Result{Status: 503, ErrCode: CodeUnavailable, ScriptID: inv.ScriptID,
			ErrMessage: "the app's router is not running"})
	}
}

// minLevelHandler drops records below min.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}

// Inspect asks the router pid for its status and waits for the answer
// until ctx ends: the router's state is only ever read by the router.
func (rt *Runtime) Inspect(ctx context.Context, pid *actor.PID) (RouterStatus, error) {
	ch := make(chan RouterStatus, 1)
	rt.system.Root.Send(pid, &Inspect{Reply: ch})
	select {
	case st := <-ch:
		return st, nil
	case <-ctx.Done():
		return RouterStatus{}, fmt.Errorf("inspect router %s: %w", pid.Id, ctx.Err())
	}
}
