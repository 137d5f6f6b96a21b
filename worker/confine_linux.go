package worker

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
)

// deniedSyscalls lists what a worker may no longer do once it serves
// scripts, behind the interpreter: open or change files, run programs,
// start processes, make or accept sockets, load code into the kernel,
// and reach the kernel's other back doors (io_uring does all of the
// above without these calls). They fail with EPERM. The Go runtime needs
// none of them after start-up; names an architecture lacks are skipped.
func deniedSyscalls() []string {
	return []string{
		// files
		"open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at",
		"mknod", "mknodat", "unlink", "unlinkat", "rename", "renameat", "renameat2",
		"link", "linkat", "symlink", "symlinkat", "mkdir", "mkdirat", "rmdir",
		"chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate",
		"utime", "utimes", "utimensat", "futimesat", "chroot", "pivot_root",
		"mount", "umount2", "move_mount", "open_tree", "fsopen", "fsmount", "fspick",
		"mount_setattr", "swapon", "swapoff",
		// programs and processes
		"execve", "execveat", "fork", "vfork", "ptrace",
		"process_vm_readv", "process_vm_writev", "setns", "unshare",
		"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
		"pidfd_open", "pidfd_getfd", "pidfd_send_signal", "tkill",
		// sockets
		"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
		// kernel back doors
		"io_uring_setup", "io_uring_enter", "io_uring_register",
		"bpf", "perf_event_open", "userfaultfd", "add_key", "request_key", "keyctl",
	}
}

// cloneThread is CLONE_THREAD: the Go runtime clones threads, never
// processes.
const cloneThread = 0x10000

// enosys answers clone3, whose flags a filter cannot see (they are in
// memory), "not implemented": the C library's pthread_create (a race or
// cgo build starts its threads there) then falls back to clone, whose
// flags the filter checks. EPERM would fail the thread instead.
const enosys = seccomp.ActionErrno | seccomp.Action(syscall.ENOSYS)

// confinePolicy is the seccomp filter of a worker whose process id is
// pid: everything is allowed but deniedSyscalls, a clone that would
// start a process, and a signal to any other process (the server's
// above all).
func confinePolicy(pid int) (seccomp.Filter, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return seccomp.Filter{}, err
	}
	if len(info.SyscallNames) == 0 {
		return seccomp.Filter{}, fmt.Errorf("no system call table for %s", info.Name)
	}
	var names []string
	for _, n := range deniedSyscalls() {
		if _, ok := info.SyscallNames[n]; ok {
			names = append(names, n)
		}
	}
	other := seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.NotEqual, Value: uint64(pid)}}
	return seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync, // every thread of the process, not just this one
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{{
				Action: enosys,
				Names:  []string{"clone3"},
			}, {
				Action: seccomp.ActionErrno,
				Names:  names,
				NamesWithCondtions: []seccomp.NameWithConditions{
					{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsNotSet, Value: cloneThread}}},
					{Name: "kill", Conditions: other},
					{Name: "tgkill", Conditions: other},
					{Name: "rt_sigqueueinfo", Conditions: other},
					{Name: "rt_tgsigqueueinfo", Conditions: other},
				},
			}},
		},
	}, nil
}

// confineSupport says why workers on this machine cannot be confined,
// or nil when they can.
func confineSupport() error {
	if _, err := confinePolicy(os.Getpid()); err != nil {
		return err
	}
	if !seccomp.Supported() {
		return errors.New("the kernel has no seccomp filters")
	}
	return nil
}

// confine sets no_new_privs on this process and loads the seccomp
// filter of confinePolicy into all its threads. It cannot be undone.
func confine() error {
	filter, err := confinePolicy(os.Getpid())
	if err != nil {
		return fmt.Errorf("worker: syscall filter: %w", err)
	}
	if err := seccomp.LoadFilter(filter); err != nil {
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("worker: the kernel has no seccomp filters: %w", err)
		}
		return fmt.Errorf("worker: syscall filter: %w", err)
	}
	return nil
}
