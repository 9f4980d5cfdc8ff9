package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// UpdatesConfig configures RunUpdates.
type UpdatesConfig struct {
	// Sequential is how many updates measure the round trip at light
	// load: one at a time into one run.
	Sequential int
	// Updates is how many updates each throughput phase sends, with
	// Concurrency callers at a time.
	Updates     int
	Concurrency int
	// Instances is how many runs the "many runs" phase spreads its
	// updates over.
	Instances int
}

// DefaultUpdatesConfig is what `wfctl bench updates` runs without flags.
var DefaultUpdatesConfig = UpdatesConfig{Sequential: 300, Updates: 3000, Concurrency: 50, Instances: 50}

// UpdatesReport is what RunUpdates measured.
type UpdatesReport struct {
	Server string        `json:"server"`
	Config UpdatesConfig `json:"config"`
	// RoundTrip is the latency of one update at a time, in ms.
	RoundTrip *Latency `json:"round_trip"`
	// OneRun and ManyRuns are updates per second into a single run and
	// spread over Instances runs, and their round trips under that load.
	OneRun            float64  `json:"one_run_per_sec"`
	OneRunLatency     *Latency `json:"one_run_latency"`
	ManyRuns          float64  `json:"many_runs_per_sec"`
	ManyRunsLatency   *Latency `json:"many_runs_latency"`
	UpdatesPerRunMany int      `json:"updates_per_run_many"`
}

// benchCounter is the workflow the updates benchmark updates: "inc" adds
// to a counter and returns it; a "stop" signal ends it.
func benchCounter(ctx workflow.Context) (int, error) {
	n := 0
	if err := workflow.SetUpdateHandler(ctx, "inc", func(ctx workflow.Context, by int) (int, error) {
		n += by
		return n, nil
	}); err != nil {
		return 0, err
	}
	workflow.NewSignalChannel[struct{}](ctx, "stop").Receive(ctx)
	return n, nil
}

// RunUpdates measures updates: the round trip of one at a time, and
// updates per second into one run and across many, with one worker, in a
// namespace of its own (removed after).
func RunUpdates(ctx context.Context, env *Env, cfg UpdatesConfig) (rep *UpdatesReport, err error) {
	if cfg.Sequential < 1 || cfg.Updates < 1 || cfg.Concurrency < 1 || cfg.Instances < 1 {
		return nil, errors.New("bench updates: every count must be at least 1")
	}
	ns := newNamespace("bupd")
	nc, err := env.connect("jetflow-bench-client")
	if err != nil {
		return nil, err
	}
	b, err := streams.New(nc, streams.WithNamespace(ns))
	if err != nil {
		return nil, fmt.Errorf("bench: provision namespace %s: %w", ns, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = errors.Join(err, removeNamespace(rctx, b.JetStream(), ns))
	}()
	wnc, err := env.connect("jetflow-bench-worker-1")
	if err != nil {
		return nil, err
	}
	wb, err := streams.Open(wnc, streams.WithNamespace(ns))
	if err != nil {
		return nil, err
	}
	w := worker.New(wb, nil)
	if err := w.RegisterWorkflow(benchCounter, worker.WithName("BenchCounter")); err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if err := w.Start(wctx); err != nil {
		stop()
		return nil, err
	}
	defer func() {
		stop()
		err = errors.Join(err, w.WaitForCompletion())
	}()
	c := client.New(b)

	start := func(id string) (*workflow.Instance, error) {
		return c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, "BenchCounter")
	}
	update := func(inst *workflow.Instance) (time.Duration, error) {
		t0 := time.Now()
		_, err := client.UpdateWorkflow[int](ctx, c, client.UpdateOptions{Instance: &workflow.Instance{InstanceID: inst.InstanceID}, Name: "inc"}, 1)
		return time.Since(t0), err
	}
	rep = &UpdatesReport{Server: env.Describe(), Config: cfg}

	one, err := start("one")
	if err != nil {
		return nil, err
	}
	// Round trip at light load (the first update also waits for the
	// run's start; it is not counted).
	if _, err := update(one); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, cfg.Sequential)
	for range cfg.Sequential {
		d, err := update(one)
		if err != nil {
			return nil, err
		}
		lat = append(lat, d)
	}
	rep.RoundTrip = Summarize(lat)

	// Throughput: Updates updates, Concurrency at a time, into the runs.
	phase := func(runs []*workflow.Instance) (float64, *Latency, error) {
		var next atomic.Int64
		var mu sync.Mutex
		var errs []error
		ds := make([]time.Duration, 0, cfg.Updates)
		t0 := time.Now()
		var wg sync.WaitGroup
		for range cfg.Concurrency {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(cfg.Updates) {
						return
					}
					d, err := update(runs[int(i)%len(runs)])
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						ds = append(ds, d)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(t0)
		if len(errs) > 0 {
			return 0, nil, fmt.Errorf("bench updates: %d updates failed; the first: %w", len(errs), errs[0])
		}
		return float64(cfg.Updates) / elapsed.Seconds(), Summarize(ds), nil
	}
	if rep.OneRun, rep.OneRunLatency, err = phase([]*workflow.Instance{one}); err != nil {
		return nil, err
	}
	many := make([]*workflow.Instance, cfg.Instances)
	for i := range many {
		if many[i], err = start("many-" + strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
	for _, inst := range many { // started and ready before the clock runs
		if _, err := update(inst); err != nil {
			return nil, err
		}
	}
	rep.UpdatesPerRunMany = cfg.Updates / cfg.Instances
	if rep.ManyRuns, rep.ManyRunsLatency, err = phase(many); err != nil {
		return nil, err
	}
	return rep, nil
}
