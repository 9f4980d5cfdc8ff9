package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// benchScheduleTick is the workflow each fire of "wfctl bench schedules"
// starts: it does nothing, so the figures are the schedule's own.
func benchScheduleTick(ctx workflow.Context) error { return nil }

// scheduleBenchReport is what "wfctl bench schedules --json" writes.
type scheduleBenchReport struct {
	Schedules   int           `json:"schedules"`
	Every       time.Duration `json:"every_ns"`
	Rounds      int           `json:"rounds"`
	Fires       int           `json:"fires"`
	Missed      int64         `json:"missed"`
	LatenessMS  latencyMS     `json:"lateness_ms"`
	CreateSecs  float64       `json:"create_seconds"`
	CPUSeconds  float64       `json:"cpu_seconds"`
	CPUPercent  float64       `json:"cpu_percent_of_one_core"`
	PeakHeap    uint64        `json:"peak_heap_bytes"`
	PeakRSSKiB  int64         `json:"peak_rss_kib"`
	WallSeconds float64       `json:"wall_seconds"`
}

type latencyMS struct{ P50, P95, P99, Max float64 }

// scheduleBenchConfig is what "wfctl bench schedules" is given.
type scheduleBenchConfig struct {
	n, rounds  int
	every      time.Duration
	asJSON     bool
	cpuProfile string // a file for a CPU profile of the fires (after creating the schedules)
}

// runScheduleBench runs "wfctl bench schedules": an embedded server in
// this process, one worker, n schedules of the same interval (so all fire
// at once: the worst case) for rounds fires each; the lateness of a fire
// is from its nominal time to its instance's start. CPU and memory are the
// process's (server included).
func runScheduleBench(ctx context.Context, w io.Writer, cfg scheduleBenchConfig, progress io.Writer) error {
	n, rounds, every, asJSON := cfg.n, cfg.rounds, cfg.every, cfg.asJSON
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace("benchsched"))
	if err != nil {
		return err
	}
	wk := worker.New(b, nil)
	if err := wk.RegisterWorkflow(benchScheduleTick, worker.WithName("BenchScheduleTick")); err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	defer func() { stop(); _ = wk.WaitForCompletion() }()
	if err := wk.Start(wctx); err != nil {
		return err
	}
	c := client.New(b)

	var peakHeap atomic.Uint64
	sampleDone := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-sampleDone:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
			}
		}
	}()
	defer close(sampleDone)

	cpu0 := cpuTime()
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	ids := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				err := c.CreateSchedule(ctx, client.ScheduleOptions{
					ScheduleID: fmt.Sprintf("s%05d", i), Spec: client.ScheduleSpec{Every: every},
					Workflow: "BenchScheduleTick", Overlap: client.OverlapAllowAll,
				})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("create schedules: %w", err)
	default:
	}
	created := time.Since(began)
	fmt.Fprintf(progress, "bench schedules: created %d schedules in %s; waiting for %d rounds of %s\n", n, created.Round(time.Millisecond), rounds, every)
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	// Wait for the last round without reading the records meanwhile (10,000
	// records of 20 recent fires each are tens of MB a read: polling them
	// would load the machine it measures): past the last round's time,
	// poll the schedule consumer until no fire waits or is in hand, then
	// read the records once; a schedule short of its rounds (creation
	// crossed a fire time) makes it read again a little later.
	q, err := b.ScheduleFires(ctx)
	if err != nil {
		return err
	}
	first := time.Unix(0, (time.Now().UnixNano()/int64(every)+1)*int64(every)) // the next multiple, as Every fires
	lastRound := first.Add(time.Duration(rounds-1) * every)
	var lateness []time.Duration
	var missed int64
	deadline := lastRound.Add(every + 2*time.Minute)
	for {
		time.Sleep(time.Second)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		waiting, unacked, err := q.Pending(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "bench schedules: %d fires waiting, %d in hand; last round at %s\n", waiting, unacked, lastRound.Format(time.TimeOnly))
		if time.Now().Before(lastRound.Add(time.Second)) || waiting+unacked > 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: the fires were not handled by %s", deadline.Format(time.TimeOnly))
			}
			continue
		}
		list, err := b.ListSchedules(ctx)
		if err != nil {
			return err
		}
		lateness, missed = lateness[:0], 0
		done := 0
		for _, r := range list {
			missed += r.Missed
			k := 0
			for _, f := range r.RecentFires {
				if f.Outcome == "started" {
					lateness = append(lateness, f.HandledAt.Sub(f.FireTime))
					k++
				}
			}
			if k >= rounds {
				done++
			}
		}
		fmt.Fprintf(progress, "bench schedules: %d/%d schedules fired %d times, %d fires\n", done, n, rounds, len(lateness))
		if done == n || time.Now().After(deadline) {
			break
		}
	}
	wall := time.Since(began)
	cpu := cpuTime() - cpu0
	slices.Sort(lateness)
	pct := func(p float64) float64 {
		if len(lateness) == 0 {
			return 0
		}
		return float64(lateness[int(p*float64(len(lateness)-1))]) / 1e6
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	rep := scheduleBenchReport{
		Schedules: n, Every: every, Rounds: rounds, Fires: len(lateness), Missed: missed,
		LatenessMS: latencyMS{P50: pct(0.50), P95: pct(0.95), P99: pct(0.99), Max: pct(1)},
		CreateSecs: created.Seconds(), CPUSeconds: cpu.Seconds(), CPUPercent: 100 * cpu.Seconds() / wall.Seconds(),
		PeakHeap: peakHeap.Load(), PeakRSSKiB: ru.Maxrss, WallSeconds: wall.Seconds(),
	}
	if asJSON {
		return writeJSON(w, rep)
	}
	fmt.Fprintf(w, "schedules on an embedded server (this process)\n")
	fmt.Fprintf(w, "  schedules       %d, every %s, %d rounds (all fire at the same instant)\n", n, every, rounds)
	fmt.Fprintf(w, "  created in      %.2fs\n", rep.CreateSecs)
	fmt.Fprintf(w, "  fires           %d started, %d missed\n", rep.Fires, rep.Missed)
	fmt.Fprintf(w, "  lateness        p50 %s  p95 %s  p99 %s  max %s  (nominal time to the instance's start)\n",
		formatMillis(rep.LatenessMS.P50), formatMillis(rep.LatenessMS.P95), formatMillis(rep.LatenessMS.P99), formatMillis(rep.LatenessMS.Max))
	fmt.Fprintf(w, "  CPU             %.1fs over %.0fs = %.0f%% of one core (server, worker and client)\n", rep.CPUSeconds, rep.WallSeconds, rep.CPUPercent)
	fmt.Fprintf(w, "  memory          peak heap %s, peak RSS %s\n", formatBytes(rep.PeakHeap), formatBytes(uint64(rep.PeakRSSKiB)<<10))
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// or is the value given, else def.
func (o *optInt) or(def int) int {
	if o.set {
		return o.v
	}
	return def
}
