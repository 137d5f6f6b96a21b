package worker

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the worker when the server
// dies, however it dies: a worker is never orphaned. (The worker also
// exits when its socket reaches EOF.)
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
