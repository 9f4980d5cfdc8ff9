package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"syscall"
)

// ServerUsage is an external server's resident memory and the disk its
// store takes at one moment of a run.
type ServerUsage struct {
	// RSSBytes is the server's resident size then (VmRSS).
	RSSBytes uint64 `json:"rss_bytes"`
	// PeakRSSBytes is its peak resident size since it started (VmHWM).
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	// StoreBytes is the disk its store folder takes (as du counts it:
	// allocated blocks), when Config.ServerStore names the folder.
	StoreBytes uint64 `json:"store_bytes,omitempty"`
}

// ServerMemory is what an external server on this machine held before
// the measured phase, while every instance waited (timers, signals) and
// at the end, before the run's namespace is removed. The server holds
// whatever else is stored on it too: the differences are the run's.
type ServerMemory struct {
	PID     int          `json:"pid"`
	Before  ServerUsage  `json:"before"`
	Waiting *ServerUsage `json:"waiting,omitempty"`
	End     ServerUsage  `json:"end"`
}

// readServerUsage reads the process pid's memory from /proc and, when
// store is set, the disk its store folder takes.
func readServerUsage(pid int, store string) (ServerUsage, error) {
	var u ServerUsage
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return u, fmt.Errorf("bench: the server's memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(name) {
		case "VmRSS":
			dst = &u.RSSBytes
		case "VmHWM":
			dst = &u.PeakRSSBytes
		default:
			continue
		}
		f := bytes.Fields(value) // "123456 kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return u, fmt.Errorf("bench: the server's memory: unexpected %s line %q", name, sc.Bytes())
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return u, fmt.Errorf("bench: the server's memory: %s: %w", name, err)
		}
		*dst = kb * 1024
	}
	if u.RSSBytes == 0 {
		return u, fmt.Errorf("bench: the server's memory: no VmRSS in /proc/%d/status", pid)
	}
	if store != "" {
		if u.StoreBytes, err = diskUsage(store); err != nil {
			return u, err
		}
	}
	return u, nil
}

// diskUsage is the disk the files under dir take, in allocated blocks as
// du counts them. Files removed while it walks are skipped: the server
// keeps writing.
func diskUsage(dir string) (uint64, error) {
	var total uint64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path != dir {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += uint64(st.Blocks) * 512
		} else {
			total += uint64(info.Size())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bench: the server's store: %w", err)
	}
	return total, nil
}

// serverUsage reads the configured external server's usage; ok is false
// when no server process was given.
func (c *Config) serverUsage() (u ServerUsage, ok bool, err error) {
	if c.ServerPID == 0 {
		return u, false, nil
	}
	u, err = readServerUsage(c.ServerPID, c.ServerStore)
	return u, err == nil, err
}

// stackSample and goroutineSample read what goroutines hold: their stacks
// are not heap objects, so a live heap leaves them out.
var (
	stackSample     = metrics.Sample{Name: "/memory/classes/heap/stacks:bytes"}
	goroutineSample = metrics.Sample{Name: "/sched/goroutines:goroutines"}
)

// waitingMemory fills r's memory while every instance waits: the live heap
// after a collection, the goroutines' stacks and the resident size; it
// reads the configured server's usage and writes a heap profile when one
// is asked for.
func (s *session) waitingMemory(r *Report) error {
	r.Memory.WaitingRSSBytes = currentRSS()
	r.Memory.WaitingLiveHeapBytes = liveHeap()
	samples := []metrics.Sample{stackSample, goroutineSample}
	metrics.Read(samples)
	if samples[0].Value.Kind() == metrics.KindUint64 {
		r.Memory.WaitingStackBytes = samples[0].Value.Uint64()
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		r.Memory.WaitingGoroutines = samples[1].Value.Uint64()
	}
	if s.cfg.HeapProfile != nil {
		runtime.GC() // the profile's in-use figures are as of the last collection
		if err := pprof.Lookup("heap").WriteTo(s.cfg.HeapProfile, 0); err != nil {
			return fmt.Errorf("bench: heap profile: %w", err)
		}
	}
	u, ok, err := s.cfg.serverUsage()
	if ok {
		s.serverWaiting = &u
	}
	return err
}

// serverEnd fills r's Memory.Server, with Config.ServerPID, from the
// usage before the run, while it waited and now, before the namespace is
// removed.
func (s *session) serverEnd(r *Report, before ServerUsage) error {
	end, ok, err := s.cfg.serverUsage()
	if !ok {
		return err
	}
	r.Memory.Server = &ServerMemory{PID: s.cfg.ServerPID, Before: before, Waiting: s.serverWaiting, End: end}
	return nil
}
