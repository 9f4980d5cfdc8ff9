package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Run runs the benchmark cfg in env and reports what it measured. Each run
// works in namespaces of its own, removed at the end unless cfg.Keep: the
// floor's is removed before the engine's run starts, so the engine does
// not share the server with the floor's leftovers.
func Run(ctx context.Context, env *Env, cfg Config) (*Report, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = time.Second
	}
	tr := newTracker(&cfg)
	defer tr.stop()

	if cfg.Workload == Floor {
		return runFloor(ctx, env, &cfg, tr, true)
	}
	var floor *Report
	if cfg.Workload == Simple && cfg.Floor {
		var err error
		if floor, err = runFloor(ctx, env, &cfg, tr, false); err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	before, _, err := cfg.serverUsage()
	if err != nil {
		return nil, err
	}
	s, err := openSession(ctx, env, &cfg, tr)
	if err != nil {
		return nil, err
	}
	rep, err := s.run(ctx)
	if err == nil {
		err = s.serverEnd(rep, before)
	}
	if cerr := s.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if floor != nil {
		rep.Floor = floor
		if floor.WorkflowsPerSecond > 0 {
			rep.Efficiency = round(rep.WorkflowsPerSecond / floor.WorkflowsPerSecond)
		}
	}
	return rep, nil
}

// session is one engine run: a namespace, a client, workers and an
// observer of workflow ends.
type session struct {
	env *Env
	cfg *Config
	tr  *tracker
	log *slog.Logger
	ns  string

	conns    []*nats.Conn
	b        *streams.Backend
	backends []*streams.Backend // the workers'
	c        *client.Client
	js       jetstream.JetStream
	obs      observer

	workers     []*worker.Worker
	stopWorkers context.CancelFunc

	serverWaiting *ServerUsage // the external server while every instance waited
}

func openSession(ctx context.Context, env *Env, cfg *Config, tr *tracker) (s *session, err error) {
	s = &session{env: env, cfg: cfg, tr: tr, log: cfg.Logger, ns: newNamespace("bench")}
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()
	nc, err := env.connect("jetflow-bench-client")
	if err != nil {
		return s, err
	}
	s.conns = append(s.conns, nc)
	if s.b, err = streams.New(nc, append([]streams.Option{streams.WithNamespace(s.ns), streams.WithLogger(s.log)}, cfg.Streams...)...); err != nil {
		return s, fmt.Errorf("bench: provision namespace %s: %w", s.ns, err)
	}
	s.js = s.b.JetStream()
	s.c = client.NewWithOptions(s.b, &client.Options{Logger: s.log})

	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopWorkers = cancel
	for i := range cfg.Workers {
		wnc, err := env.connect("jetflow-bench-worker-" + strconv.Itoa(i+1))
		if err != nil {
			return s, err
		}
		s.conns = append(s.conns, wnc)
		wb, err := streams.Open(wnc, append([]streams.Option{streams.WithNamespace(s.ns), streams.WithLogger(s.log), streams.WithRetention(cfg.Retention)}, cfg.Streams...)...)
		if err != nil {
			return s, fmt.Errorf("bench: open namespace %s: %w", s.ns, err)
		}
		s.backends = append(s.backends, wb)
		w := worker.New(wb, &worker.Options{
			ExecutorCacheSize:        cfg.CacheSize,
			MaxParallelWorkflowTasks: cfg.TaskSlots,
			MaxParallelActivityTasks: cfg.ActivitySlots,
			Logger:                   s.log,
		})
		if err := register(w); err != nil {
			return s, fmt.Errorf("bench: %w", err)
		}
		if err := w.Start(wctx); err != nil {
			return s, fmt.Errorf("bench: start worker %d: %w", i+1, err)
		}
		s.workers = append(s.workers, w)
	}
	switch cfg.Observe {
	case ObserveWatch:
		if s.obs, err = newWatchObserver(ctx, s.js, s.ns); err != nil {
			return s, err
		}
	default:
		s.obs = resultObserver{c: s.c}
	}
	return s, nil
}

// close stops the workers, removes the namespace and closes the
// connections.
func (s *session) close() error {
	if s.obs != nil {
		s.obs.close()
	}
	if s.stopWorkers != nil {
		s.stopWorkers()
	}
	var errs []error
	for _, w := range s.workers {
		errs = append(errs, w.WaitForCompletion())
	}
	// The list-index writes still queued go out before the namespace is
	// removed and the connections closed (they would fail and be logged).
	for _, b := range append([]*streams.Backend{s.b}, s.backends...) {
		if b != nil {
			errs = append(errs, b.Close())
		}
	}
	if s.js != nil && !s.cfg.Keep {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		errs = append(errs, removeNamespace(ctx, s.js, s.ns))
		cancel()
	}
	for _, nc := range s.conns {
		nc.Close()
	}
	return errors.Join(errs...)
}

// newReport starts the report of a workload.
func (s *session) newReport() *Report {
	c := s.cfg
	r := &Report{
		Workload:  c.Workload,
		Server:    s.env.Describe(),
		Namespace: s.ns,
		Workers:   c.Workers,
		Observe:   c.Observe,
		Params:    map[string]any{},
	}
	if c.CacheSize > 0 {
		r.Params["cache"] = c.CacheSize
	}
	if c.TaskSlots > 0 {
		r.Params["task_slots"] = c.TaskSlots
	}
	if c.ActivitySlots > 0 {
		r.Params["activity_slots"] = c.ActivitySlots
	}
	if c.Retention > 0 {
		r.Params["retention"] = c.Retention.String()
	}
	switch c.Workload {
	case Simple:
		r.Params["workflows"], r.Params["concurrency"], r.Params["warmup"] = c.Workflows, c.Concurrency, c.Warmup
		if c.ResultSize > 0 {
			r.Params["resultsize"] = c.ResultSize
		}
		if c.Local {
			r.Params["local"] = true
		}
	case Fanout:
		r.Params["workflows"], r.Params["concurrency"], r.Params["activities"] = c.Workflows, c.Concurrency, c.Activities
	case Tree:
		r.Params["runs"], r.Params["concurrency"] = c.Runs, c.Concurrency
		r.Params["depth"], r.Params["fanout"], r.Params["leaffanout"] = c.Depth, c.Fanout, c.LeafFanout
		r.Params["activities"], r.Params["resultsize"] = c.Activities, c.ResultSize
		shape := c.TreeShape()
		r.Tree = &shape
	case Timers:
		r.Params["instances"], r.Params["concurrency"], r.Params["sleep"] = c.Instances, c.Concurrency, c.Sleep.String()
	case Signals:
		r.Params["instances"], r.Params["concurrency"] = c.Instances, c.Concurrency
	}
	return r
}

// run runs the session's workload.
func (s *session) run(ctx context.Context) (*Report, error) {
	switch s.cfg.Workload {
	case Simple:
		return s.runSimple(ctx)
	case Fanout:
		return s.runFanout(ctx)
	case Tree:
		return s.runTree(ctx)
	case Timers:
		return s.runTimers(ctx)
	case Signals:
		return s.runSignals(ctx)
	}
	return nil, fmt.Errorf("bench: workload %q has no engine run", s.cfg.Workload)
}

// measurement brackets the measured phase: counters, memory sampling and
// the CPU profile.
type measurement struct {
	before snapshot
	mem    *memorySampler
	prof   bool
	ended  bool
}

func (s *session) startMeasurement(ctx context.Context) (*measurement, error) {
	return startMeasurement(ctx, s.js, s.ns, s.conns, s.cfg.CPUProfile)
}

func startMeasurement(ctx context.Context, js jetstream.JetStream, ns string, conns []*nats.Conn, profile io.Writer) (*measurement, error) {
	m := &measurement{}
	// Start from a collected heap: what an earlier phase left (the
	// floor's, a warm-up's) is not this phase's garbage.
	runtime.GC()
	var err error
	if m.before, err = takeSnapshot(ctx, js, ns, conns); err != nil {
		return nil, err
	}
	m.mem = startMemorySampler(250 * time.Millisecond)
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			m.mem.Stop()
			return nil, fmt.Errorf("bench: CPU profile: %w", err)
		}
		m.prof = true
	}
	return m, nil
}

// abort ends a measurement that failed; after finish it does nothing.
func (m *measurement) abort() {
	if m.ended {
		return
	}
	m.ended = true
	if m.prof {
		pprof.StopCPUProfile()
	}
	m.mem.Stop()
}

// finish ends the measurement and fills r's counters.
func (m *measurement) finish(ctx context.Context, js jetstream.JetStream, ns string, conns []*nats.Conn, r *Report, embedded bool) error {
	// The end is the moment the last result was observed: stop the clock
	// before reading the counters over the network.
	end := time.Now()
	m.abort()
	after, err := takeSnapshot(ctx, js, ns, conns)
	if err != nil {
		return err
	}
	after.at = end
	r.measured(m.before, after, m.mem, embedded)
	return nil
}

func (s *session) finish(ctx context.Context, m *measurement, r *Report) error {
	return m.finish(ctx, s.js, s.ns, s.conns, r, s.env.Embedded())
}

// closedLoop runs one(i) for every i in [0, n), c at a time, and returns
// the latency each reported, in the order of i. The first error stops the
// loop and is returned.
func closedLoop(ctx context.Context, n, c int, tr *tracker, one func(ctx context.Context, i int) (time.Duration, int64, error)) ([]time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				d, units, err := one(ctx, i)
				if err != nil {
					cancel(err)
					return
				}
				lat[i] = d
				tr.add(units)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	tr.finish()
	return lat, nil
}

// startAndWait starts a workflow with a given ID and waits for its
// result, decoded into out. It returns the time from the start call to
// the result's observation.
func (s *session) startAndWait(ctx context.Context, id, wf string, out any, args ...any) (time.Duration, error) {
	w := s.obs.expect(id)
	t0 := time.Now()
	inst, err := s.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, wf, args...)
	if err != nil {
		return 0, fmt.Errorf("start %s %s: %w", wf, id, err)
	}
	raw, at, err := w.wait(ctx, inst)
	if err != nil {
		return 0, fmt.Errorf("result of %s %s: %w", wf, id, err)
	}
	if err := s.c.Converter().Decode(raw, out); err != nil {
		return 0, fmt.Errorf("result of %s %s: %w", wf, id, err)
	}
	return at.Sub(t0), nil
}

func (s *session) runSimple(ctx context.Context) (*Report, error) {
	c := s.cfg
	one := func(prefix string) func(ctx context.Context, i int) (time.Duration, int64, error) {
		return func(ctx context.Context, i int) (time.Duration, int64, error) {
			if c.ResultSize > 0 {
				var text string
				d, err := s.startAndWait(ctx, prefix+strconv.Itoa(i), nameSimpleText, &text, c.ResultSize)
				if err == nil && len(text) != c.ResultSize {
					err = fmt.Errorf("workflow %s%d returned %d bytes, want %d", prefix, i, len(text), c.ResultSize)
				}
				return d, 1, err
			}
			var v int
			name := nameSimple
			if c.Local {
				name = nameLocal
			}
			d, err := s.startAndWait(ctx, prefix+strconv.Itoa(i), name, &v, i)
			if err == nil && v != i+1 {
				err = fmt.Errorf("workflow %s%d returned %d, want %d", prefix, i, v, i+1)
			}
			return d, 1, err
		}
	}
	var expiry *expiryWatch
	if c.Retention > 0 && !c.NoExpiryWatch {
		var err error
		if expiry, err = newExpiryWatch(ctx, s.js, s.ns, c.Retention); err != nil {
			return nil, err
		}
		defer expiry.close()
	}
	if c.Warmup > 0 {
		s.tr.begin("warmup", int64(c.Warmup), nil)
		if _, err := closedLoop(ctx, c.Warmup, c.Concurrency, s.tr, one("warm-")); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	r := s.newReport()
	m, err := s.startMeasurement(ctx)
	if err != nil {
		return nil, err
	}
	defer m.abort()
	s.tr.begin("run", int64(c.Workflows), nil)
	lat, err := closedLoop(ctx, c.Workflows, c.Concurrency, s.tr, one("s-"))
	if err != nil {
		return nil, err
	}
	r.Workflows, r.Activities = c.Workflows, c.Workflows
	r.Latency, r.LatencyFrom = Summarize(lat), "start"
	if err := s.finish(ctx, m, r); err != nil || expiry == nil {
		return r, err
	}
	total := c.Warmup + c.Workflows
	s.tr.beginUnit("expire", "instances removed", int64(total), expiry.removedCount)
	ph, err := expiry.wait(ctx, total, 5*time.Minute)
	s.tr.finish()
	if err != nil {
		return nil, err
	}
	r.Phases = append(r.Phases, ph)
	return r, nil
}

func (s *session) runFanout(ctx context.Context) (*Report, error) {
	c := s.cfg
	r := s.newReport()
	m, err := s.startMeasurement(ctx)
	if err != nil {
		return nil, err
	}
	defer m.abort()
	total := int64(c.Workflows) * int64(c.Activities)
	base := activityCount.Load()
	s.tr.begin("run", total, func() int64 { return activityCount.Load() - base })
	want := c.Activities * (c.Activities + 1) / 2
	lat, err := closedLoop(ctx, c.Workflows, c.Concurrency, s.tr, func(ctx context.Context, i int) (time.Duration, int64, error) {
		var v int
		id := "f-" + strconv.Itoa(i)
		d, err := s.startAndWait(ctx, id, nameFanout, &v, c.Activities)
		if err == nil && v != want {
			err = fmt.Errorf("workflow %s returned %d, want %d", id, v, want)
		}
		return d, 0, err
	})
	if err != nil {
		return nil, err
	}
	r.Workflows, r.Activities = c.Workflows, c.Workflows*c.Activities
	r.Latency, r.LatencyFrom = Summarize(lat), "start"
	return r, s.finish(ctx, m, r)
}

func (s *session) runTree(ctx context.Context) (*Report, error) {
	c := s.cfg
	shape := c.TreeShape()
	r := s.newReport()
	m, err := s.startMeasurement(ctx)
	if err != nil {
		return nil, err
	}
	defer m.abort()
	total := int64(c.Runs) * int64(shape.Activities)
	base := activityCount.Load()
	s.tr.begin("run", total, func() int64 { return activityCount.Load() - base })
	root := TreeParams{Depth: c.Depth, Fanout: c.Fanout, LeafFanout: c.LeafFanout, Activities: c.Activities, ResultSize: c.ResultSize}
	lat, err := closedLoop(ctx, c.Runs, c.Concurrency, s.tr, func(ctx context.Context, i int) (time.Duration, int64, error) {
		var v int
		id := "t-" + strconv.Itoa(i)
		d, err := s.startAndWait(ctx, id, nameTreeNode, &v, root)
		if err == nil && v != shape.ResultBytes {
			err = fmt.Errorf("tree %s returned %d bytes, want %d", id, v, shape.ResultBytes)
		}
		return d, 0, err
	})
	if err != nil {
		return nil, err
	}
	r.Workflows, r.Activities = c.Runs*shape.Workflows, c.Runs*shape.Activities
	r.Latency, r.LatencyFrom = Summarize(lat), "start of the root"
	return r, s.finish(ctx, m, r)
}

// startAll starts n instances of a waiting workflow, c at a time, and
// returns when each start call began.
func (s *session) startAll(ctx context.Context, n int, wf, prefix string, args func(i int) []any) ([]time.Time, []*workflow.Instance, time.Duration, error) {
	c := s.cfg
	starts := make([]time.Time, n)
	insts := make([]*workflow.Instance, n)
	s.tr.begin("start", int64(n), nil)
	t0 := time.Now()
	_, err := closedLoop(ctx, n, c.Concurrency, s.tr, func(ctx context.Context, i int) (time.Duration, int64, error) {
		id := prefix + strconv.Itoa(i)
		starts[i] = time.Now()
		inst, err := s.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, wf, args(i)...)
		if err != nil {
			return 0, 0, fmt.Errorf("start %s %s: %w", wf, id, err)
		}
		insts[i] = inst
		return 0, 1, nil
	})
	return starts, insts, time.Since(t0), err
}

func (s *session) runTimers(ctx context.Context) (*Report, error) {
	c := s.cfg
	n := c.Instances
	r := s.newReport()
	m, err := s.startMeasurement(ctx)
	if err != nil {
		return nil, err
	}
	defer m.abort()
	waiters := make([]waiter, n)
	for i := range waiters {
		waiters[i] = s.obs.expect("tm-" + strconv.Itoa(i))
	}
	starts, insts, startTook, err := s.startAll(ctx, n, nameSleep, "tm-", func(int) []any { return []any{c.Sleep} })
	if err != nil {
		return nil, err
	}
	r.Phases = append(r.Phases, Phase{Name: "start", Count: n, Seconds: round(startTook.Seconds()), PerSecond: rate(n, startTook)})

	s.tr.begin("wake", int64(n), nil)
	firstDue := slices.MinFunc(starts, time.Time.Compare).Add(c.Sleep)
	var mu sync.Mutex
	var lastSeen time.Time
	lat, err := closedLoop(ctx, n, c.Concurrency, s.tr, func(ctx context.Context, i int) (time.Duration, int64, error) {
		_, at, err := waiters[i].wait(ctx, insts[i])
		if err != nil {
			return 0, 0, fmt.Errorf("timer workflow %s: %w", insts[i].InstanceID, err)
		}
		mu.Lock()
		if at.After(lastSeen) {
			lastSeen = at
		}
		mu.Unlock()
		return at.Sub(starts[i].Add(c.Sleep)), 1, nil
	})
	if err != nil {
		return nil, err
	}
	wake := lastSeen.Sub(firstDue)
	r.Phases = append(r.Phases, Phase{Name: "wake", Count: n, Seconds: round(wake.Seconds()), PerSecond: rate(n, wake),
		Latency: Summarize(lat), LatencyFrom: "the timer's due time"})
	r.Workflows = n
	r.Latency, r.LatencyFrom = r.Phases[1].Latency, "the timer's due time"
	return r, s.finish(ctx, m, r)
}

func (s *session) runSignals(ctx context.Context) (*Report, error) {
	c := s.cfg
	n := c.Instances
	r := s.newReport()
	m, err := s.startMeasurement(ctx)
	if err != nil {
		return nil, err
	}
	defer m.abort()
	base, err := lastSeq(ctx, s.js, s.ns, "history")
	if err != nil {
		return nil, err
	}
	_, insts, startTook, err := s.startAll(ctx, n, nameWait, "sg-", func(int) []any { return nil })
	if err != nil {
		return nil, err
	}
	r.Phases = append(r.Phases, Phase{Name: "start", Count: n, Seconds: round(startTook.Seconds()), PerSecond: rate(n, startTook)})

	// Every instance waits once its first task is committed: one history
	// message each.
	s.tr.beginUnit("wait", "instances waiting", int64(n), nil)
	t0 := time.Now()
	if err := s.waitForCommits(ctx, base, n); err != nil {
		return nil, err
	}
	r.Phases = append(r.Phases, Phase{Name: "wait", Count: n, Seconds: round(time.Since(t0).Seconds())})
	if err := s.waitingMemory(r); err != nil {
		return nil, err
	}

	s.tr.begin("wake", int64(n), nil)
	t0 = time.Now()
	lat, err := closedLoop(ctx, n, c.Concurrency, s.tr, func(ctx context.Context, i int) (time.Duration, int64, error) {
		inst := insts[i]
		w := s.obs.expect(inst.InstanceID)
		sent := time.Now()
		if err := s.c.SignalWorkflow(ctx, inst.InstanceID, wakeSignal, i); err != nil {
			return 0, 0, fmt.Errorf("signal %s: %w", inst.InstanceID, err)
		}
		raw, at, err := w.wait(ctx, inst)
		if err != nil {
			return 0, 0, fmt.Errorf("result of %s: %w", inst.InstanceID, err)
		}
		var v int
		if err := s.c.Converter().Decode(raw, &v); err != nil || v != i {
			return 0, 0, fmt.Errorf("workflow %s returned %d (%v), want %d", inst.InstanceID, v, err, i)
		}
		return at.Sub(sent), 1, nil
	})
	if err != nil {
		return nil, err
	}
	wake := time.Since(t0)
	r.Phases = append(r.Phases, Phase{Name: "wake", Count: n, Seconds: round(wake.Seconds()), PerSecond: rate(n, wake),
		Latency: Summarize(lat), LatencyFrom: "the signal"})
	r.Workflows = n
	r.Latency, r.LatencyFrom = r.Phases[2].Latency, "the signal"
	return r, s.finish(ctx, m, r)
}

// stallTimeout ends a wait that makes no progress at all for this long.
const stallTimeout = 2 * time.Minute

// waitForCommits waits until the history stream holds n more messages
// than base.
func (s *session) waitForCommits(ctx context.Context, base uint64, n int) error {
	var last uint64
	lastChange := time.Now()
	for {
		seq, err := lastSeq(ctx, s.js, s.ns, "history")
		if err != nil {
			return err
		}
		done := seq - base
		s.tr.set(int64(done))
		if done >= uint64(n) {
			s.tr.finish()
			return nil
		}
		if seq != last {
			last, lastChange = seq, time.Now()
		} else if time.Since(lastChange) > stallTimeout {
			return fmt.Errorf("bench: only %d of %d instances are waiting, and none more for %s", done, n, stallTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// activityCount counts the activities run in this process, for progress.
var activityCount atomic.Int64

// tracker keeps where the run stands and reports it to Config.Progress.
type tracker struct {
	cfg *Config

	mu    sync.Mutex
	phase string
	unit  string
	total int64
	start time.Time
	took  time.Duration // the phase's duration, once finished
	count func() int64  // overrides done

	done    atomic.Int64
	quit    chan struct{}
	stopped sync.WaitGroup
}

func newTracker(cfg *Config) *tracker {
	t := &tracker{cfg: cfg, quit: make(chan struct{})}
	if cfg.Progress == nil {
		return t
	}
	t.stopped.Go(func() {
		tick := time.NewTicker(cfg.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if p, ok := t.progress(); ok {
					cfg.Progress(p)
				}
			case <-t.quit:
				return
			}
		}
	})
	return t
}

// begin starts a phase of total units; count, if set, tells the units
// done instead of add and set.
func (t *tracker) begin(phase string, total int64, count func() int64) {
	unit := "workflows"
	if count != nil {
		unit = "activities"
	}
	t.beginUnit(phase, unit, total, count)
}

func (t *tracker) beginUnit(phase, unit string, total int64, count func() int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase, t.unit, t.total, t.start, t.count, t.took = phase, unit, total, time.Now(), count, 0
	t.done.Store(0)
}

// finish ends the phase: its elapsed time stops, and its final state is
// reported at once.
func (t *tracker) finish() {
	t.mu.Lock()
	t.took = time.Since(t.start)
	t.mu.Unlock()
	if p, ok := t.progress(); ok && t.cfg.Progress != nil {
		t.cfg.Progress(p)
	}
}

func (t *tracker) add(n int64) { t.done.Add(n) }
func (t *tracker) set(n int64) { t.done.Store(n) }

func (t *tracker) progress() (Progress, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.phase == "" {
		return Progress{}, false
	}
	done := t.done.Load()
	if t.count != nil {
		done = t.count()
	}
	elapsed := t.took
	if elapsed == 0 {
		elapsed = time.Since(t.start)
	}
	return Progress{Phase: t.phase, Unit: t.unit, Done: min(done, t.total), Total: t.total, Elapsed: elapsed}, true
}

func (t *tracker) stop() {
	close(t.quit)
	t.stopped.Wait()
}
