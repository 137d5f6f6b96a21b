package sandbox

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/traefik/yaegi/interp"
)

// hostImportPath is a package only the sandbox imports into an
// interpreter, to learn when its stop switch is armed. Scripts cannot
// import it: it is not on the allowlist, and Check runs first.
const hostImportPath = "picloudhost"

// armStop gives the interpreter a stop switch: cancelling ctx stops it.
//
// yaegi stops an interpreter only from EvalWithContext (or
// ExecuteWithContext) while that call is still waiting: cancelling its
// context bumps the interpreter's run id, which ends every loop of every
// frame, and closes the channel that every blocking channel operation
// also waits on. The switch is such a call that does not end on its own:
// it blocks in a host function until released is closed. It is armed
// before the script is evaluated, so every frame the script ever makes
// inherits its channel: Handle's, and those of closures made by the
// package-level initialisers (a closure keeps the channel of the frame it
// was made in). stop ends them all, wherever they are, and leaves the
// interpreter poisoned: nothing runs on it again.
//
// The host package is then known to the script's package without an
// import: Check refuses its name in scripts.
//
// The switch's own evaluation must go on blocking after stop, until
// released: once it ends, yaegi reads the interpreter's root frame, where
// a Handle still unwinding may be writing.
func armStop(ctx context.Context, released <-chan struct{}, i *interp.Interpreter) error {
	armed := make(chan struct{})
	err := i.Use(interp.Exports{hostImportPath + "/" + hostImportPath: {
		"Armed": reflect.ValueOf(func() { close(armed) }),
		"Park":  reflect.ValueOf(func() { <-released }),
	}})
	if err != nil {
		return fmt.Errorf("sandbox: load host symbols: %w", err)
	}
	if _, err := i.Eval(`import "` + hostImportPath + `"`); err != nil {
		return fmt.Errorf("sandbox: import host symbols: %w", err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := i.EvalWithContext(ctx, hostImportPath+".Armed(); "+hostImportPath+".Park()")
		ended <- err
	}()
	select {
	case <-armed:
		return nil
	case err := <-ended:
		return fmt.Errorf("sandbox: arm the stop switch: %w", err)
	}
}

// stoppableSleep is time.Sleep as scripts see it: it returns early when
// stopped is closed, so a script sleeping past its budget does not keep
// a goroutine for the rest of its sleep.
func stoppableSleep(stopped <-chan struct{}) func(time.Duration) {
	return func(d time.Duration) {
		if d <= 0 {
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stopped:
		}
	}
}
