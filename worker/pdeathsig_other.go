//go:build !linux

package worker

import "os/exec"

// setParentDeathSignal has no equivalent here: the worker exits when its
// socket reaches EOF.
func setParentDeathSignal(*exec.Cmd) {}
