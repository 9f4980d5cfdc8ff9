package bench

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// requestTimeout bounds the benchmark's own requests to the server.
const requestTimeout = 10 * time.Second

// snapshot is the counters a measurement is the difference of.
type snapshot struct {
	at     time.Time
	cpu    time.Duration
	msgs   uint64            // messages in and out of the run's connections
	stored map[string]uint64 // messages ever stored, per stream of the namespace
	bytes  map[string]uint64 // bytes held now, per stream of the namespace
}

// takeSnapshot reads the counters.
func takeSnapshot(ctx context.Context, js jetstream.JetStream, ns string, conns []*nats.Conn) (snapshot, error) {
	s := snapshot{cpu: processCPU()}
	for _, nc := range conns {
		st := nc.Stats()
		s.msgs += st.InMsgs + st.OutMsgs
	}
	var err error
	if s.stored, s.bytes, err = storedCounts(ctx, js, ns); err != nil {
		return s, err
	}
	s.at = time.Now()
	return s, nil
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the process's peak resident memory since it started.
func maxRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024 // kilobytes on Linux
}

// currentRSS is the process's resident memory now (0 where /proc is
// missing).
func currentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// heapSample is the heap's object bytes: live, plus dead ones not yet
// swept.
var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapBytes() uint64 {
	s := make([]metrics.Sample, len(heapSample))
	copy(s, heapSample)
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// liveHeap collects garbage and returns the heap's live bytes.
func liveHeap() uint64 {
	runtime.GC()
	return heapBytes()
}

// memorySampler records the peak resident memory and heap while it runs.
type memorySampler struct {
	peakRSS, peakHeap atomic.Uint64
	stop              chan struct{}
	done              sync.WaitGroup
}

func startMemorySampler(every time.Duration) *memorySampler {
	m := &memorySampler{stop: make(chan struct{})}
	m.sample()
	m.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.sample()
			case <-m.stop:
				return
			}
		}
	})
	return m
}

func (m *memorySampler) sample() {
	raise(&m.peakRSS, currentRSS())
	raise(&m.peakHeap, heapBytes())
}

func raise(v *atomic.Uint64, x uint64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// Stop ends the sampling, with one last sample.
func (m *memorySampler) Stop() {
	close(m.stop)
	m.done.Wait()
	m.sample()
}
