package worker_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picloud/picloud/worker"
)

// envProbe makes the test binary confine itself as a worker does and
// then try what a worker must no longer do (probeConfined).
const envProbe = "PICLOUD_WORKER_TEST_PROBE"

// probeResult is one attempt of the probe: errno 0 means it worked.
type probeResult struct {
	What  string
	Errno int
	Err   string
}

// probeConfined confines this process, tries to open, create, run,
// connect and signal, and prints what each attempt got as JSON lines.
func probeConfined(dir string) int {
	if err := worker.Confine(); err != nil {
		fmt.Fprintln(os.Stderr, "confine:", err)
		return 5
	}
	return probe(dir)
}

// probe tries to open, create, run, connect and signal, and prints what
// each attempt got as JSON lines.
func probe(dir string) int {
	// The runtime must still start threads (in a race build through the
	// C library's pthread_create): a failure there aborts the probe.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			runtime.LockOSThread()
			time.Sleep(10 * time.Millisecond)
		})
	}
	wg.Wait()
	enc := json.NewEncoder(os.Stdout)
	try := func(what string, err error) {
		r := probeResult{What: what}
		if err != nil {
			r.Err = err.Error()
			var errno syscall.Errno
			if errors.As(err, &errno) {
				r.Errno = int(errno)
			} else {
				r.Errno = -1
			}
		}
		_ = enc.Encode(r)
	}
	try("read a file", func() error {
		f, err := os.Open("/proc/self/status")
		if err == nil {
			f.Close()
		}
		return err
	}())
	try("create a file", func() error {
		f, err := os.Create(filepath.Join(dir, "written"))
		if err == nil {
			f.Close()
		}
		return err
	}())
	try("start a program", exec.Command("/bin/true").Run())
	// Exec in place: had it worked, the probe would end without the
	// remaining lines.
	try("exec in place", syscall.Exec("/bin/true", []string{"true"}, nil))
	try("open a TCP socket", func() error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err == nil {
			syscall.Close(fd)
		}
		return err
	}())
	try("dial a unix socket", func() error {
		c, err := net.Dial("unix", filepath.Join(dir, "nowhere.sock"))
		if err == nil {
			c.Close()
		}
		return err
	}())
	try("signal the parent", syscall.Kill(os.Getppid(), 0))
	try("signal itself", syscall.Kill(os.Getpid(), 0))
	return 0
}

func TestConfinedWorkerCannotOpenRunOrConnect(t *testing.T) {
	if err := worker.ConfineSupport(); err != nil {
		t.Skipf("no syscall filter here: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{envProbe + "=" + dir}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, stderr.String())
	}
	checkProbe(t, out, dir)
}

// checkProbe reads probe's output and fails t for every attempt that
// was not denied.
func checkProbe(t *testing.T, out []byte, dir string) {
	t.Helper()
	got := map[string]probeResult{}
	for line := range strings.Lines(string(out)) {
		var r probeResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("probe said %q: %v", line, err)
		}
		got[r.What] = r
	}
	denied := []string{"read a file", "create a file", "start a program", "exec in place",
		"open a TCP socket", "dial a unix socket", "signal the parent"}
	for _, what := range denied {
		r, ok := got[what]
		switch {
		case !ok:
			t.Errorf("%s: the probe did not get that far (output %q)", what, out)
		case r.Errno != int(syscall.EPERM) && r.Errno != int(syscall.EACCES):
			t.Errorf("%s: %+v, want EPERM or EACCES", what, r)
		}
	}
	if r := got["signal itself"]; r.Errno != 0 {
		t.Errorf("signal itself: %+v, want it allowed (the runtime signals its own threads)", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "written")); err == nil {
		t.Error("the confined probe created a file")
	}
}

// TestWorkerGetsNoSecretOfTheServer puts secrets in the server's
// environment: a worker's environment, read from /proc by its parent,
// holds none of them, and the worker runs confined.
func TestWorkerGetsNoSecretOfTheServer(t *testing.T) {
	t.Setenv("PICLOUD_ADMIN_PASSWORD", "the admin password")
	t.Setenv("PICLOUD_DATABASE_URL", "postgres://user:secret@db/picloud")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "an operator secret")
	t.Setenv("GOGC", "150")
	e := newEngine(t, worker.Options{})
	inst := load(t, e, appA, hello)
	defer inst.Close()
	pid := e.Workers()[appA.ID]

	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Skipf("cannot read a worker's environment here: %v", err)
	}
	env := map[string]string{}
	for kv := range strings.SplitSeq(strings.TrimRight(string(raw), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, secret := range []string{"PICLOUD_ADMIN_PASSWORD", "PICLOUD_DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "PATH", "HOME"} {
		if v, ok := env[secret]; ok {
			t.Errorf("the worker inherited %s=%q", secret, v)
		}
	}
	for k, want := range map[string]string{"GOMAXPROCS": "1", "GOGC": "150", "PICLOUD_WORKER_APP": "a"} {
		if env[k] != want {
			t.Errorf("worker's %s = %q, want %q (environment %v)", k, env[k], want, env)
		}
	}

	if err := worker.ConfineSupport(); err != nil {
		t.Logf("no syscall filter here: %v", err)
		return
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("worker status lacks %q:\n%s", want, status)
		}
	}
}
