package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is the memory of the server and its children at one moment, in
// KiB. PSS counts a page shared by n processes (the binary's code, which
// server and workers map from the same file) as 1/n in each, so the PSS
// total is what the processes cost together; the RSS total counts shared
// pages once per process.
type sample struct {
	at                    time.Duration
	phase                 string
	serverRSS, workersRSS int64
	// serverAnon is the server's private memory (RssAnon: heap, stacks),
	// its RSS less the pages of the binary and libraries it maps.
	serverAnon int64
	pss        int64
}

// recorder samples the memory of a process tree every interval.
type recorder struct {
	pid      int
	start    time.Time
	interval time.Duration

	mu      sync.Mutex
	samples []sample
	current string
	marks   map[string]time.Duration
}

func newRecorder(pid int, start time.Time, interval time.Duration) *recorder {
	return &recorder{pid: pid, start: start, interval: interval, current: "start", marks: map[string]time.Duration{"start": 0}}
}

// run samples until the returned func is called (more than once is fine).
func (r *recorder) run() func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			r.take()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

func (r *recorder) take() {
	s := sample{at: time.Since(r.start)}
	s.serverRSS = statusKiB(r.pid, "VmRSS:")
	s.serverAnon = statusKiB(r.pid, "RssAnon:")
	s.pss = pssKiB(r.pid)
	for _, c := range children(r.pid) {
		s.workersRSS += statusKiB(c, "VmRSS:")
		s.pss += pssKiB(c)
	}
	r.mu.Lock()
	s.phase = r.current
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

// phase names the samples taken from now on.
func (r *recorder) phase(name string) {
	r.take()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = name
	r.marks[name] = time.Since(r.start)
}

// last takes a sample now and returns it.
func (r *recorder) last() sample {
	r.take()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.samples[len(r.samples)-1]
}

// at is the first sample taken at or after d from the start.
func (r *recorder) at(d time.Duration) sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.samples {
		if s.at >= d {
			return s
		}
	}
	return sample{}
}

// peakBefore is the sample with the highest total RSS before phase began.
func (r *recorder) peakBefore(phase string) sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	end, ok := r.marks[phase]
	if !ok {
		end = time.Duration(1<<63 - 1)
	}
	return peak(r.samples, 0, end)
}

// peakSince is the sample with the highest total RSS since phase began.
func (r *recorder) peakSince(phase string) sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return peak(r.samples, r.marks[phase], time.Duration(1<<63-1))
}

func peak(samples []sample, from, to time.Duration) sample {
	var best sample
	for _, s := range samples {
		if s.at >= from && s.at < to && s.serverRSS+s.workersRSS > best.serverRSS+best.workersRSS {
			best = s
		}
	}
	return best
}

// write saves every sample as a tab-separated table.
func (r *recorder) write(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	fmt.Fprintln(&b, "ms\tphase\tserver_rss_kib\tworkers_rss_kib\tpss_total_kib")
	for _, s := range r.samples {
		fmt.Fprintf(&b, "%d\t%s\t%d\t%d\t%d\n", s.at.Milliseconds(), s.phase, s.serverRSS, s.workersRSS, s.pss)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// statusKiB reads a "Key:  N kB" line of /proc/PID/status (0 when gone).
func statusKiB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	return fieldKiB(b, key)
}

// pssKiB is the proportional set size of pid (0 when gone).
func pssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	return fieldKiB(b, "Pss:")
}

func fieldKiB(b []byte, key string) int64 {
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			f := strings.Fields(string(rest))
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// children are the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// threadRuns is, per thread of pid, how many times it was put on a CPU
// (the third field of /proc/PID/task/TID/schedstat) and the CPU time it
// used (the first, ns).
func threadRuns(pid int) (runs, cpuNs map[int]int64) {
	runs, cpuNs = map[int]int64{}, map[int]int64{}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) < 3 {
			continue
		}
		tid, _ := strconv.Atoi(filepath.Base(filepath.Dir(t)))
		cpuNs[tid], _ = strconv.ParseInt(f[0], 10, 64)
		runs[tid], _ = strconv.ParseInt(f[2], 10, 64)
	}
	return runs, cpuNs
}

// comm is the command name of a thread, for the idle report.
func comm(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "?"
	}
	defer f.Close()
	b, _ := io.ReadAll(bufio.NewReader(io.LimitReader(f, 200)))
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(args) > 1 {
		return filepath.Base(args[0]) + " " + args[1]
	}
	return filepath.Base(args[0])
}
