// Package worker runs workflows and activities: it takes workflow tasks
// from the inbox of its queues, drives the engine's executor, commits the
// result to the run's history, publishes what the commit asks for
// (activity tasks, timers, child starts, signals, registry updates, result
// notices), and runs activity tasks with retries and timeouts.
//
// Workers are stateless: any number of them, in any number of processes,
// can serve the same queues, and a worker that dies loses nothing (its
// unacknowledged tasks are handed to another).
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// Options configure a worker. Zero fields take the default of
// DefaultOptions.
type Options struct {
	// Queues the worker serves; default ["default"].
	Queues []string
	// MaxParallelWorkflowTasks bounds how many workflow tasks run at once.
	// A task spends most of its time waiting for NATS (reads, the commit,
	// its side effects), so many run at once even on few cores: on 2
	// cores, 16 gave 1,550 workflows/s and 256 gave 2,050.
	MaxParallelWorkflowTasks int
	// MaxParallelActivityTasks bounds how many activities run at once.
	MaxParallelActivityTasks int
	// ExecutorCacheSize is how many runs' executors stay in memory
	// between tasks (least recently used are evicted).
	ExecutorCacheSize int
	// DisableExecutorCache makes every task replay its run's history.
	DisableExecutorCache bool
	// FetchBatch is how many messages one fetch takes from a queue.
	FetchBatch int
	// PollWait is how long one fetch waits for messages.
	PollWait time.Duration
	// ActivityTimeout bounds an activity attempt that has no
	// StartToCloseTimeout of its own.
	ActivityTimeout time.Duration
	// UnknownNameTimeout is how long a workflow or activity this worker
	// does not know is left for other workers of the queue before it is
	// failed with a clear error.
	UnknownNameTimeout time.Duration
	// TaskRetryDelay is the first wait before retrying a workflow task
	// that failed without failing its run (non-determinism, blocked code,
	// a NATS error); it doubles up to a minute.
	TaskRetryDelay time.Duration
	// BlockedTimeout is how long workflow code may run without reaching a
	// workflow API call before the task is abandoned as blocked.
	BlockedTimeout time.Duration
	// MaxHistoryLength fails a run whose history grows past this many
	// events, with an error that suggests workflow.ContinueAsNew
	// (default engine.DefaultMaxHistoryLength; negative: no limit).
	MaxHistoryLength int64
	// Logger receives the worker's log lines; default: the backend's.
	Logger *slog.Logger
	// ContextPropagators carry context values into workflows, their
	// activities and sub-workflows (workflow.ContextPropagator); use the
	// same as the clients'.
	ContextPropagators []workflow.ContextPropagator
	// LocalRetryThreshold is the longest backoff a local activity waits
	// for inside a workflow task before retrying; a longer one waits
	// with a workflow timer (default workflow.LocalRetryThreshold).
	LocalRetryThreshold time.Duration
}

// DefaultOptions are the options used for nil, and for each zero field.
var DefaultOptions = Options{
	Queues:                   []string{streams.DefaultQueue},
	MaxParallelWorkflowTasks: 256,
	MaxParallelActivityTasks: 256,
	ExecutorCacheSize:        4096,
	FetchBatch:               256,
	PollWait:                 time.Second,
	ActivityTimeout:          10 * time.Minute,
	UnknownNameTimeout:       30 * time.Second,
	TaskRetryDelay:           200 * time.Millisecond,
	BlockedTimeout:           engine.DefaultBlockedTimeout,
}

func (o Options) withDefaults() Options {
	d := DefaultOptions
	if len(o.Queues) == 0 {
		o.Queues = d.Queues
	}
	if o.MaxParallelWorkflowTasks <= 0 {
		o.MaxParallelWorkflowTasks = d.MaxParallelWorkflowTasks
	}
	if o.MaxParallelActivityTasks <= 0 {
		o.MaxParallelActivityTasks = d.MaxParallelActivityTasks
	}
	if o.ExecutorCacheSize <= 0 {
		o.ExecutorCacheSize = d.ExecutorCacheSize
	}
	if o.FetchBatch <= 0 {
		o.FetchBatch = d.FetchBatch
	}
	if o.PollWait <= 0 {
		o.PollWait = d.PollWait
	}
	if o.ActivityTimeout <= 0 {
		o.ActivityTimeout = d.ActivityTimeout
	}
	if o.UnknownNameTimeout <= 0 {
		o.UnknownNameTimeout = d.UnknownNameTimeout
	}
	if o.TaskRetryDelay <= 0 {
		o.TaskRetryDelay = d.TaskRetryDelay
	}
	if o.BlockedTimeout == 0 {
		o.BlockedTimeout = d.BlockedTimeout
	}
	return o
}

// Worker runs the workflows and activities registered with it.
type Worker struct {
	b    *streams.Backend
	opts Options
	log  *slog.Logger
	reg  *registry.Registry
	conv converter.Converter // the backend's

	cache   *executorCache
	cancels *activityCancels
	tel     *telemetry.Telemetry // the backend's

	// queryReplays counts queries answered by replaying the run's history
	// (not from the cached executor).
	queryReplays atomic.Int64

	mu       sync.Mutex
	started  bool
	tasks    sync.WaitGroup // pollers and in-flight tasks
	stopping chan struct{}
	queries  []func() error // unsubscribe functions of query responders and cancel listeners
}

// New returns a worker on the backend; nil options mean DefaultOptions.
func New(b *streams.Backend, opts *Options) *Worker {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	log := o.Logger
	if log == nil {
		log = b.Logger()
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &Worker{
		b:        b,
		opts:     o,
		log:      slog.New(newLazyAttrs(log.Handler())).With(logkey.Component, "worker"),
		reg:      registry.New(),
		conv:     b.Converter(),
		stopping: make(chan struct{}),
	}
	size := o.ExecutorCacheSize
	if o.DisableExecutorCache {
		size = 0
	}
	w.cache = newExecutorCache(size)
	w.tel = b.Telemetry()
	w.cache.onEvict = func(n int) {
		w.tel.CacheEvictions.Add(context.Background(), int64(n), w.tel.Attrs("", "", "", "", ""))
	}
	w.cancels = newActivityCancels()
	return w
}

// RegisterWorkflow registers a workflow function, by default under its own
// name. A workflow is func(ctx workflow.Context, args...) error or
// (T, error); anything else is refused with an error that says why.
func (w *Worker) RegisterWorkflow(fn any, opts ...RegisterOption) error {
	return addWorkflow(w.reg, fn, opts)
}

// RegisterActivity registers an activity function (by default under its
// own name), or every exported method of a struct pointer (each under its
// method name). An activity is func(ctx context.Context, args...) error or
// (T, error).
func (w *Worker) RegisterActivity(a any, opts ...RegisterOption) error {
	return addActivity(w.reg, a, opts)
}

// Start begins serving the queues and returns once polling has started.
// Cancel ctx to stop taking new work, then call WaitForCompletion.
func (w *Worker) Start(ctx context.Context) error {
	// Check every queue before starting anything.
	for _, queue := range w.opts.Queues {
		if _, err := streams.EncodeQueue(queue); err != nil {
			return fmt.Errorf("worker: queue %q: %w", queue, err)
		}
	}
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("worker: already started")
	}
	w.started = true
	w.mu.Unlock()

	// A failure part way (NATS trouble creating a queue's consumers)
	// stops what was started, so an error means nothing runs.
	runCtx, stop := context.WithCancel(ctx)
	fail := func(err error) error {
		stop()
		w.tasks.Wait()
		for _, unsubscribe := range w.queries {
			_ = unsubscribe()
		}
		w.queries = nil
		close(w.stopping)
		return err
	}
	unsubscribe, err := w.b.SubscribeActivityCancels(w.cancels.cancel)
	if err != nil {
		return fail(fmt.Errorf("worker: %w", err))
	}
	w.queries = append(w.queries, unsubscribe)
	wfSlots := make(chan struct{}, w.opts.MaxParallelWorkflowTasks)
	actSlots := make(chan struct{}, w.opts.MaxParallelActivityTasks)
	for _, queue := range w.opts.Queues {
		inbox, err := w.b.InboxQueue(runCtx, queue)
		if err != nil {
			return fail(fmt.Errorf("worker: queue %q: %w", queue, err))
		}
		activities, err := w.b.ActivityQueue(runCtx, queue)
		if err != nil {
			return fail(fmt.Errorf("worker: queue %q: %w", queue, err))
		}
		unsubscribe, err := w.serveQueries(queue)
		if err != nil {
			return fail(err)
		}
		w.queries = append(w.queries, unsubscribe)
		d := newDispatcher(w, queue, wfSlots)
		w.tasks.Add(2)
		go func() {
			defer w.tasks.Done()
			w.pollWorkflowTasks(runCtx, inbox, d)
		}()
		go func() {
			defer w.tasks.Done()
			w.pollActivities(runCtx, queue, activities, actSlots)
		}()
	}
	if err := w.startSchedules(runCtx); err != nil {
		return fail(fmt.Errorf("worker: schedules: %w", err))
	}
	if w.b.Retention() > 0 {
		w.tasks.Add(1)
		go func() {
			defer w.tasks.Done()
			w.serveRetention(runCtx)
		}()
	}
	go func() {
		<-runCtx.Done()
		stop()
		close(w.stopping)
	}()
	w.log.Info("worker started", "queues", w.opts.Queues)
	return nil
}

// WaitForCompletion waits, after the Start context was canceled, until
// the pollers have stopped and every task in flight has finished and been
// acknowledged. Tasks fetched but not started are handed back to the queue.
func (w *Worker) WaitForCompletion() error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		return errors.New("worker: not started")
	}
	<-w.stopping
	w.tasks.Wait()
	var errs []error
	for _, unsubscribe := range w.queries {
		errs = append(errs, unsubscribe())
	}
	w.cache.clear()
	return errors.Join(errs...)
}
