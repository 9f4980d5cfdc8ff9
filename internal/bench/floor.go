package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// The floor is what one workflow of one activity costs JetStream, done by
// the smallest loop that does it, with no engine: per workflow
//
//	registry create (KV create)      — the starter
//	inbox publish (WorkflowStarted)  — the starter
//	consume + ack                    — the workflow loop
//	history commit, sequence-checked — the workflow loop
//	activity task publish            — the workflow loop
//	consume + ack                    — the activity loop
//	result publish to the inbox      — the activity loop
//	consume + ack                    — the workflow loop
//	final commit, sequence-checked   — the workflow loop
//	registry update (revision-checked) and result notice — the workflow loop
//
// through package streams, on a namespace of its own provisioned by
// streams.New (the same stream configurations as the engine's), with the
// same concurrency, the same fetch batches and task slots as the worker's
// defaults, and the same observer of workflow ends. Nothing is replayed,
// no executor runs; what the floor keeps per workflow (run, revision,
// last sequence) it keeps in a map.

// floorName names the floor's workflow and activity in what it stores.
const floorName = "FloorSimple"

// floorLoop is the starter and the workers' loops of a floor run.
type floorLoop struct {
	b    *streams.Backend // the client's
	conv converter.Converter

	mu   sync.Mutex
	runs map[string]*floorRun

	fail func(error)
	wg   sync.WaitGroup
}

// floorRun is what the loop keeps of one workflow between its tasks.
type floorRun struct {
	rec *streams.InstanceRecord
	rev uint64 // registry revision
	seq uint64 // the history's last sequence
}

// runFloor measures the floor: cfg.Workflows one-activity workflows,
// cfg.Concurrency at a time, after cfg.Warmup. Like an engine run, it has
// a client connection (starts and observer) and one connection per
// worker, here each with a workflow loop and an activity loop.
func runFloor(ctx context.Context, env *Env, cfg *Config, tr *tracker, alone bool) (*Report, error) {
	ns := newNamespace("floor")
	nc, err := env.connect("jetflow-bench-floor-client")
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	conns := []*nats.Conn{nc}
	floorOpts := []streams.Option{streams.WithNamespace(ns), streams.WithLogger(cfg.Logger)}
	if cfg.Replicas > 0 {
		floorOpts = append(floorOpts, streams.WithReplicas(cfg.Replicas))
	}
	b, err := streams.New(nc, floorOpts...)
	if err != nil {
		return nil, fmt.Errorf("bench: provision namespace %s: %w", ns, err)
	}
	js := b.JetStream()
	defer func() {
		if !cfg.Keep {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := removeNamespace(ctx, js, ns); err != nil {
				cfg.Logger.Warn("removing the floor's namespace failed", logkey.Err, err)
			}
		}
	}()
	c := client.NewWithOptions(b, &client.Options{Logger: cfg.Logger})
	var obs observer = resultObserver{c: c}
	if cfg.Observe == ObserveWatch {
		if obs, err = newWatchObserver(ctx, js, ns); err != nil {
			return nil, err
		}
	}
	defer obs.close()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	f := &floorLoop{
		b:    b,
		conv: c.Converter(),
		runs: map[string]*floorRun{},
		fail: func(err error) { cancel(err) },
	}
	defer f.wg.Wait()
	defer cancel(nil)
	for i := range cfg.Workers {
		wnc, err := env.connect("jetflow-bench-floor-worker-" + strconv.Itoa(i+1))
		if err != nil {
			return nil, err
		}
		defer wnc.Close()
		conns = append(conns, wnc)
		wb, err := streams.Open(wnc, floorOpts...)
		if err != nil {
			return nil, fmt.Errorf("bench: open namespace %s: %w", ns, err)
		}
		taskSlots := make(chan struct{}, cmp.Or(cfg.TaskSlots, worker.DefaultOptions.MaxParallelWorkflowTasks))
		actSlots := make(chan struct{}, cmp.Or(cfg.ActivitySlots, worker.DefaultOptions.MaxParallelActivityTasks))
		if err := f.start(runCtx, wb, taskSlots, actSlots); err != nil {
			return nil, err
		}
	}

	one := func(prefix string) func(ctx context.Context, i int) (time.Duration, int64, error) {
		return func(ctx context.Context, i int) (time.Duration, int64, error) {
			d, err := f.startAndWait(ctx, obs, prefix+strconv.Itoa(i), i)
			return d, 1, err
		}
	}
	phase := "run"
	if !alone {
		phase = "floor" // before the engine's run
	}
	if cfg.Warmup > 0 {
		warm := "warmup"
		if !alone {
			warm = "floor warmup"
		}
		tr.begin(warm, int64(cfg.Warmup), nil)
		if _, err := closedLoop(runCtx, cfg.Warmup, cfg.Concurrency, tr, one("warm-")); err != nil {
			return nil, fmt.Errorf("floor warm-up: %w", floorCause(runCtx, err))
		}
	}
	r := &Report{
		Workload:  Floor,
		Server:    env.Describe(),
		Namespace: ns,
		Workers:   cfg.Workers,
		Observe:   cfg.Observe,
		Params:    map[string]any{"workflows": cfg.Workflows, "concurrency": cfg.Concurrency, "warmup": cfg.Warmup},
	}
	var profile io.Writer
	if alone {
		profile = cfg.CPUProfile
	}
	m, err := startMeasurement(ctx, js, ns, conns, profile)
	if err != nil {
		return nil, err
	}
	defer m.abort()
	tr.begin(phase, int64(cfg.Workflows), nil)
	lat, err := closedLoop(runCtx, cfg.Workflows, cfg.Concurrency, tr, one("s-"))
	if err != nil {
		return nil, floorCause(runCtx, err)
	}
	r.Workflows, r.Activities = cfg.Workflows, cfg.Workflows
	r.Latency, r.LatencyFrom = Summarize(lat), "start"
	if err := m.finish(ctx, js, ns, conns, r, env.Embedded()); err != nil {
		return nil, err
	}
	return r, nil
}

// floorCause prefers the loops' own failure over the cancellation it
// caused.
func floorCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// start binds a worker's queues on its own backend and starts its
// workflow and activity loops.
func (f *floorLoop) start(ctx context.Context, b *streams.Backend, taskSlots, actSlots chan struct{}) error {
	inbox, err := b.InboxQueue(ctx, streams.DefaultQueue)
	if err != nil {
		return fmt.Errorf("bench: floor: %w", err)
	}
	acts, err := b.ActivityQueue(ctx, streams.DefaultQueue)
	if err != nil {
		return fmt.Errorf("bench: floor: %w", err)
	}
	f.wg.Go(func() { f.workflowLoop(ctx, b, inbox, taskSlots) })
	f.wg.Go(func() { f.activityLoop(ctx, b, acts, actSlots) })
	return nil
}

// startAndWait is the starter: registry create and start event, then the
// wait for the end.
func (f *floorLoop) startAndWait(ctx context.Context, obs observer, id string, x int) (time.Duration, error) {
	arg, err := f.conv.Encode(x)
	if err != nil {
		return 0, err
	}
	run := newRunID()
	w := obs.expect(id)
	t0 := time.Now()
	now := t0.UTC()
	rec := &streams.InstanceRecord{
		InstanceID:   id,
		WorkflowName: floorName,
		Queue:        streams.DefaultQueue,
		ExecutionID:  run,
		Status:       streams.StatusRunning,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	rev, err := f.b.CreateInstance(ctx, rec)
	if err != nil {
		return 0, fmt.Errorf("floor: create %s: %w", id, err)
	}
	f.mu.Lock()
	f.runs[id] = &floorRun{rec: rec, rev: rev}
	f.mu.Unlock()
	start := &history.Event{
		Kind:        history.WorkflowStarted,
		Time:        now,
		InboxID:     streams.StartInboxID(run),
		ExecutionID: run,
		Name:        floorName,
		Queue:       streams.DefaultQueue,
		Args:        [][]byte{arg},
	}
	if err := f.b.PublishEvent(ctx, streams.DefaultQueue, id, start); err != nil {
		return 0, fmt.Errorf("floor: start %s: %w", id, err)
	}
	raw, at, err := w.wait(ctx, &workflow.Instance{InstanceID: id, ExecutionID: run})
	if err != nil {
		return 0, fmt.Errorf("floor: result of %s: %w", id, err)
	}
	var v int
	if err := f.conv.Decode(raw, &v); err != nil || v != x+1 {
		return 0, fmt.Errorf("floor: %s returned %d (%v), want %d", id, v, err, x+1)
	}
	return at.Sub(t0), nil
}

// workflowLoop fetches inbox messages and runs a task for each, as many
// at once as the worker's default task slots.
func (f *floorLoop) workflowLoop(ctx context.Context, b *streams.Backend, inbox *streams.InboxQueue, slots chan struct{}) {
	for ctx.Err() == nil {
		msgs, err := inbox.Fetch(ctx, 256, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				f.fail(fmt.Errorf("floor: fetch the inbox: %w", err))
			}
			return
		}
		for _, m := range msgs {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			f.wg.Go(func() {
				defer func() { <-slots }()
				if err := f.task(ctx, b, m); err != nil {
					f.fail(err)
				}
			})
		}
	}
}

// task is one workflow task: the start schedules the activity, the
// activity's result completes the workflow.
func (f *floorLoop) task(ctx context.Context, b *streams.Backend, m *streams.InboxMessage) error {
	if m.Err != nil {
		return fmt.Errorf("floor: inbox message: %w", m.Err)
	}
	f.mu.Lock()
	r := f.runs[m.InstanceID]
	f.mu.Unlock()
	if r == nil {
		return fmt.Errorf("floor: inbox message for unknown instance %q", m.InstanceID)
	}
	e := m.Event
	inst, run := m.InstanceID, r.rec.ExecutionID
	now := time.Now().UTC()
	switch e.Kind {
	case history.WorkflowStarted:
		started := *e
		started.ID = 1
		opts := history.ActivityOptions{MaxAttempts: activityOptions.RetryOptions.MaxAttempts}
		scheduled := history.Event{Kind: history.ActivityScheduled, ID: 2, Time: now, Name: floorName, Queue: streams.DefaultQueue, Args: e.Args, Activity: &opts}
		seq, err := b.Commit(ctx, inst, run, 0, &history.Commit{Events: []history.Event{started, scheduled}})
		if err != nil {
			return fmt.Errorf("floor: first commit of %s: %w", inst, err)
		}
		r.seq = seq
		err = b.PublishActivity(ctx, &streams.ActivityTask{
			InstanceID: inst, ExecutionID: run, ScheduleID: 2, WorkflowQueue: streams.DefaultQueue,
			Queue: streams.DefaultQueue, Name: floorName, Args: e.Args, Options: opts, ScheduledAt: now,
		})
		if err != nil {
			return fmt.Errorf("floor: activity task of %s: %w", inst, err)
		}
	case history.ActivityCompleted:
		completed := *e
		completed.ID = 3
		final := history.Event{Kind: history.WorkflowCompleted, ID: 4, Time: now, Result: e.Result}
		if _, err := b.Commit(ctx, inst, run, r.seq, &history.Commit{Events: []history.Event{completed, final}}); err != nil {
			return fmt.Errorf("floor: final commit of %s: %w", inst, err)
		}
		rec := *r.rec
		rec.Status, rec.Result, rec.UpdatedAt, rec.FinishedAt, rec.HistoryEvents = streams.StatusCompleted, e.Result, now, now, 4
		if _, err := b.UpdateInstance(ctx, &rec, r.rev); err != nil {
			return fmt.Errorf("floor: registry update of %s: %w", inst, err)
		}
		f.mu.Lock()
		delete(f.runs, inst)
		f.mu.Unlock()
		// The notice carries the outcome, as the worker's does for small
		// results, so the waiter need not read the registry again.
		notice := streams.ResultNotice{InstanceID: inst, ExecutionID: run, Status: streams.StatusCompleted,
			Outcome: true, WorkflowName: floorName, Result: e.Result}
		if err := b.PublishResultNotice(notice); err != nil {
			return fmt.Errorf("floor: result notice of %s: %w", inst, err)
		}
	default:
		return fmt.Errorf("floor: unexpected %s event for %s", e.Kind, inst)
	}
	return m.Ack()
}

// activityLoop fetches activity tasks while slots are free and runs each:
// decode the argument, add one, publish the result to the inbox, ack.
func (f *floorLoop) activityLoop(ctx context.Context, b *streams.Backend, acts *streams.ActivityQueue, slots chan struct{}) {
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1 + cap(slots) - len(slots)
		msgs, err := acts.Fetch(ctx, min(free, 256), time.Second)
		<-slots
		if err != nil {
			if ctx.Err() == nil {
				f.fail(fmt.Errorf("floor: fetch activity tasks: %w", err))
			}
			return
		}
		for _, m := range msgs {
			slots <- struct{}{}
			f.wg.Go(func() {
				defer func() { <-slots }()
				if err := f.activity(ctx, b, m); err != nil {
					f.fail(err)
				}
			})
		}
	}
}

func (f *floorLoop) activity(ctx context.Context, b *streams.Backend, m *streams.ActivityMessage) error {
	if m.Err != nil {
		return fmt.Errorf("floor: activity task: %w", m.Err)
	}
	t := m.Task
	var x int
	if len(t.Args) != 1 {
		return fmt.Errorf("floor: activity task of %s has %d arguments", t.InstanceID, len(t.Args))
	}
	if err := f.conv.Decode(t.Args[0], &x); err != nil {
		return fmt.Errorf("floor: activity argument: %w", err)
	}
	activityCount.Add(1)
	res, err := f.conv.Encode(x + 1)
	if err != nil {
		return err
	}
	err = b.PublishEvent(ctx, t.WorkflowQueue, t.InstanceID, &history.Event{
		Kind:        history.ActivityCompleted,
		ScheduleID:  t.ScheduleID,
		Time:        time.Now().UTC(),
		InboxID:     streams.ActivityResultInboxID(t.InstanceID, t.ExecutionID, t.ScheduleID),
		ExecutionID: t.ExecutionID,
		Result:      res,
	})
	if err != nil {
		return fmt.Errorf("floor: activity result of %s: %w", t.InstanceID, err)
	}
	return m.Ack()
}

// newRunID is a random execution ID.
func newRunID() string {
	var b [16]byte
	_, _ = io.ReadFull(rand.Reader, b[:])
	return hex.EncodeToString(b[:])
}
