package main

import (
	"math/bits"
	"time"
)

// histogram buckets are log-linear: values below 2*subBuckets nanoseconds
// are exact, and each further power of two is split into subBuckets equal
// parts, so a bucket is at most 1/subBuckets (about 3%) wide relative to its
// values. It is a fixed array: recording is a few instructions and never
// allocates, and merging is an addition.
const (
	subBucketBits = 5
	subBuckets    = 1 << subBucketBits
	numBuckets    = 64 * subBuckets
)

// histogram counts latencies. One per worker; merged at the end.
type histogram struct {
	counts [numBuckets]uint64
	total  uint64
	max    time.Duration
}

// bucketOf maps a duration to its bucket index.
func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0))
	shift := max(bits.Len64(v)-subBucketBits-1, 0)
	return shift<<subBucketBits + int(v>>uint(shift))
}

// bucketValue is a representative value of bucket i: its midpoint.
func bucketValue(i int) time.Duration {
	if i < 2*subBuckets {
		return time.Duration(i)
	}
	shift := i>>subBucketBits - 1
	top := uint64(i - shift<<subBucketBits)
	return time.Duration(top<<uint(shift) + (1<<uint(shift))/2)
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.total++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of the recorded
// values lie (q in [0, 1]), or 0 if nothing was recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := max(uint64(q*float64(h.total)+0.5), 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketValue(i), h.max)
		}
	}
	return h.max
}
