package engine

import (
	"context"
	"fmt"

	"github.com/picloud/picloud/sandbox"
)

// InProcess is the Engine that runs scripts inside this process: the
// trusted single-tenant and benchmark set-up (executor.isolation "none").
type InProcess struct{}

var _ Engine = InProcess{}

// Load implements Engine.
func (InProcess) Load(ctx context.Context, _ AppRef, script Script, opts sandbox.Options) (Instance, error) {
	inst, err := newInstance(ctx, script.Source, opts)
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// newInstance is sandbox.New, with a panic turned into an error: a panic
// while loading would otherwise make the executor's supervisor restart it
// in a loop.
func newInstance(ctx context.Context, source string, opts sandbox.Options) (inst *sandbox.Instance, err error) {
	defer func() {
		if v := recover(); v != nil {
			inst, err = nil, fmt.Errorf("sandbox panicked while compiling: %v", v)
		}
	}()
	return sandbox.New(ctx, source, opts)
}
