package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jetflow/jetflow/internal/bench"
	"github.com/jetflow/jetflow/streams"
)

// benchMemFlags are wfctl bench's flags for measuring memory at scale: a
// heap profile while every instance waits, an external server's resident
// memory and store, and a longer request timeout for long runs.
type benchMemFlags struct {
	heapProfile string
	serverPID   int
	serverStore string
	// requestTimeout, when set, bounds the client's and workers' JetStream
	// requests instead of the backend's default: a long run on a busy
	// machine sees the server stall longer than that.
	requestTimeout time.Duration
}

func (m *benchMemFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.heapProfile, "memprofile", "", "signals: write a heap profile, taken while every instance waits, to `FILE` (go tool pprof -sample_index=inuse_space)")
	fs.IntVar(&m.serverPID, "server-pid", 0, "with --server: the server's process `PID` on this machine; the report gives its resident memory (VmRSS, VmHWM) before, while every instance waits and at the end")
	fs.DurationVar(&m.requestTimeout, "request-timeout", 0, "each JetStream request of the client and workers waits up to `D` (streams.WithRequestTimeout; default the backend's 5s): longer for a million instances on a busy machine")
	fs.StringVar(&m.serverStore, "server-store", "", "with --server-pid: the server's store `DIR`; the report gives the disk it takes beside the memory")
}

// apply puts the flags into cfg; the returned function closes the
// profile's file.
func (m *benchMemFlags) apply(cfg *bench.Config, external bool) (func(), error) {
	if m.serverPID != 0 && !external {
		return nil, usageErrorf("bench: --server-pid is for an external server (--server); an embedded server's memory is this process's")
	}
	if m.serverPID < 0 {
		return nil, usageErrorf("bench: --server-pid %d: a process id is positive", m.serverPID)
	}
	if m.serverStore != "" && m.serverPID == 0 {
		return nil, usageErrorf("bench: --server-store goes with --server-pid")
	}
	if m.heapProfile != "" && cfg.Workload != bench.Signals {
		return nil, usageErrorf("bench: --memprofile is taken while every instance waits: signals only")
	}
	if m.requestTimeout < 0 {
		return nil, usageErrorf("bench: --request-timeout %s: a timeout is positive", m.requestTimeout)
	}
	if m.requestTimeout > 0 {
		cfg.Streams = append(cfg.Streams, streams.WithRequestTimeout(m.requestTimeout))
	}
	cfg.ServerPID, cfg.ServerStore = m.serverPID, m.serverStore
	if m.heapProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(m.heapProfile)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	cfg.HeapProfile = f
	return func() { f.Close() }, nil
}

// printServerMemory prints the external server's memory and store, when
// the run read them.
func printServerMemory(w io.Writer, r *bench.Report, in string) {
	s := r.Memory.Server
	if s == nil {
		return
	}
	usage := func(u bench.ServerUsage) string {
		line := fmt.Sprintf("RSS %s", formatBytes(u.RSSBytes))
		if u.StoreBytes > 0 {
			line += fmt.Sprintf(", store %s", formatBytes(u.StoreBytes))
		}
		return line
	}
	line := fmt.Sprintf("before %s", usage(s.Before))
	if s.Waiting != nil {
		line += fmt.Sprintf("; while all waited %s", usage(*s.Waiting))
	}
	line += fmt.Sprintf("; at the end %s, peak RSS %s", usage(s.End), formatBytes(s.End.PeakRSSBytes))
	fmt.Fprintf(w, "%sserver          %s (process %d)\n", in, line, s.PID)
}
