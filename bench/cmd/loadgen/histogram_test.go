package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsAreMonotonicAndTight(t *testing.T) {
	prev := -1
	for _, d := range []time.Duration{0, 1, 31, 32, 63, 64, 65, 100, 1000, time.Microsecond * 412,
		time.Millisecond, time.Second, time.Hour, 1<<63 - 1} {
		i := bucketOf(d)
		if i < prev || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d after %d (of %d)", d, i, prev, numBuckets)
		}
		prev = i
		v := bucketValue(i)
		if diff := float64(v-d) / float64(max(d, 1)); diff > 1.0/subBuckets || diff < -1.0/subBuckets {
			t.Errorf("bucketValue(bucketOf(%d)) = %d, off by %.1f%%", d, v, diff*100)
		}
		if d < 2*subBuckets && v != d {
			t.Errorf("small value %d not exact: %d", d, v)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var all []time.Duration
	var parts [4]histogram
	for i := range 100000 {
		d := time.Duration(rng.ExpFloat64() * float64(500*time.Microsecond))
		all = append(all, d)
		parts[i%4].record(d)
	}
	for i := range parts {
		h.merge(&parts[i])
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		exact := all[min(int(q*float64(len(all))), len(all)-1)]
		got := h.quantile(q)
		if diff := float64(got-exact) / float64(exact); diff > 0.04 || diff < -0.04 {
			t.Errorf("quantile(%v) = %v, exact %v", q, got, exact)
		}
	}
	if h.total != 100000 || h.max != all[len(all)-1] {
		t.Errorf("total %d max %v, want 100000 and %v", h.total, h.max, all[len(all)-1])
	}
}
