package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// idleReport is what the server and its workers did while nobody called.
type idleReport struct {
	span  time.Duration
	procs []idleProc
}

type idleProc struct {
	pid     int
	name    string
	threads int
	// runs is how many times any of its threads was put on a CPU: each
	// is a wake-up (a timer, a poll, a signal).
	runs  int64
	cpuNs int64
	// busiest is the thread that woke most, and how often.
	busiestTID  int
	busiestRuns int64
}

// measureIdle counts, over span, how often the threads of pid and of its
// children ran and how much CPU they used.
func measureIdle(ctx context.Context, pid int, span time.Duration) (idleReport, error) {
	pids := append([]int{pid}, children(pid)...)
	type before struct{ runs, cpu map[int]int64 }
	start := make(map[int]before, len(pids))
	for _, p := range pids {
		r, c := threadRuns(p)
		start[p] = before{r, c}
	}
	if err := sleep(ctx, span); err != nil {
		return idleReport{}, err
	}
	rep := idleReport{span: span}
	for _, p := range pids {
		runs, cpu := threadRuns(p)
		ip := idleProc{pid: p, name: comm(p), threads: len(runs)}
		for tid, n := range runs {
			d := n - start[p].runs[tid] // a thread born during the span counts whole
			ip.runs += d
			ip.cpuNs += cpu[tid] - start[p].cpu[tid]
			if d > ip.busiestRuns {
				ip.busiestTID, ip.busiestRuns = tid, d
			}
		}
		rep.procs = append(rep.procs, ip)
	}
	slices.SortFunc(rep.procs, func(a, b idleProc) int { return a.pid - b.pid })
	return rep, nil
}

func (r idleReport) print(out io.Writer) {
	fmt.Fprintf(out, "%-8s %-20s %8s %12s %10s %s\n", "pid", "process", "threads", "wake-ups/s", "CPU ms", "busiest thread (wake-ups/s)")
	var runs, cpu int64
	secs := r.span.Seconds()
	for _, p := range r.procs {
		runs += p.runs
		cpu += p.cpuNs
		fmt.Fprintf(out, "%-8d %-20s %8d %12.1f %10.2f %d (%.1f)\n", p.pid, p.name, p.threads,
			float64(p.runs)/secs, float64(p.cpuNs)/1e6, p.busiestTID, float64(p.busiestRuns)/secs)
	}
	fmt.Fprintf(out, "%-8s %-20s %8s %12.1f %10.2f\n", "all", "", "", float64(runs)/secs, float64(cpu)/1e6)
}
