package worker

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// frameWriter writes frames from many goroutines to one connection. It
// batches: a writer that sees others waiting leaves the flush to the
// last of them, so a burst of calls costs one write system call.
type frameWriter struct {
	waiting atomic.Int32

	mu  sync.Mutex
	w   *bufio.Writer
	buf []byte
	err error
}

func newFrameWriter(w io.Writer) *frameWriter {
	return &frameWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// write sends f. After the first failure every write returns that error.
func (fw *frameWriter) write(f *Frame) error {
	fw.waiting.Add(1)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	others := fw.waiting.Add(-1)
	if fw.err != nil {
		return fw.err
	}
	fw.buf = AppendFrame(fw.buf[:0], f)
	if _, err := fw.w.Write(fw.buf); err != nil {
		fw.err = fmt.Errorf("worker: write frame: %w", err)
		return fw.err
	}
	if cap(fw.buf) > 1<<20 {
		fw.buf = nil // do not keep a large body's buffer
	}
	if others == 0 {
		if err := fw.w.Flush(); err != nil {
			fw.err = fmt.Errorf("worker: write frame: %w", err)
			return fw.err
		}
	}
	return nil
}
