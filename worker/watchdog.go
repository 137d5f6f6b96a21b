package worker

import (
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// watchPeriod is how often the watchdog reads the runtime's memory while
// a script runs; an idle worker's watchdog sleeps.
const watchPeriod = 5 * time.Millisecond

// watchLinger is how many periods the watchdog keeps watching after the
// last call ended. Under a stream of short calls it then stays on its
// 5 ms tick instead of being woken (a goroutine switch and a read of the
// runtime's metrics) for every call; a worker idle for longer stops it.
const watchLinger = 10

// metricMapped is all memory the Go runtime mapped read-write, including
// heap reserved for a huge `make` whose pages were never touched.
const (
	metricMapped   = "/memory/classes/total:bytes"
	metricReleased = "/memory/classes/heap/released:bytes"
)

// watchdog ends the process when its Go runtime holds more than limit
// bytes. The GC is asked to stay under the limit first
// (debug.SetMemoryLimit); the watchdog is the hard wall, and it also
// catches allocations the GC cannot help with (a single huge make).
type watchdog struct {
	limit  int64
	logger *slog.Logger
	active atomic.Int64
	wake   chan struct{}
}

func startWatchdog(limit int64, logger *slog.Logger) *watchdog {
	d := &watchdog{limit: limit, logger: logger, wake: make(chan struct{}, 1)}
	if limit <= 0 {
		return d
	}
	debug.SetMemoryLimit(limit)
	limitAddressSpace(limit, logger)
	go d.run()
	return d
}

// busy adds delta to the running scripts and wakes the watchdog.
func (d *watchdog) busy(delta int64) {
	if d.active.Add(delta) > 0 {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func (d *watchdog) run() {
	samples := []metrics.Sample{{Name: metricMapped}, {Name: metricReleased}}
	for range d.wake {
		for idle := 0; idle <= watchLinger; {
			metrics.Read(samples)
			used := int64(samples[0].Value.Uint64()) - int64(samples[1].Value.Uint64())
			if used > d.limit {
				d.logger.Error("picloud worker: memory limit exceeded, exiting",
					slog.Int64("used", used), slog.Int64("limit", d.limit))
				os.Exit(ExitMemoryLimit)
			}
			if d.active.Load() > 0 {
				idle = 0
			} else {
				idle++
			}
			time.Sleep(watchPeriod)
		}
	}
}
