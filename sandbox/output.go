package sandbox

import "bytes"

// truncatedMarker ends output that went past its cap.
const truncatedMarker = "[output truncated]"

// cappedBuffer keeps the first max bytes written to it and drops the rest.
// Writes never fail, so a script's fmt.Println never sees an error.
type cappedBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func newCappedBuffer(max int) *cappedBuffer {
	return &cappedBuffer{max: max}
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - b.buf.Len(); len(p) > room {
		p = p[:max(room, 0)]
		b.truncated = true
	}
	b.buf.Write(p)
	return n, nil
}

// String returns what was kept, ending with truncatedMarker on a line of
// its own if anything was dropped.
func (b *cappedBuffer) String() string {
	if !b.truncated {
		return b.buf.String()
	}
	s := b.buf.String()
	if s != "" && s[len(s)-1] != '\n' {
		s += "\n"
	}
	return s + truncatedMarker + "\n"
}

func (b *cappedBuffer) Reset() {
	b.buf.Reset()
	b.truncated = false
}
