package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// keyLocal marks the span and metrics of a local activity attempt.
const keyLocal = attribute.Key("jetflow.activity.local")

// localActivityRunner returns the runner of a run's local activities:
// their attempts run in this process, inside the workflow task, with the
// wall clock; each attempt is a span, a child of the task's span (spans
// holds it), keeping the task's messages leased meanwhile.
func (w *Worker) localActivityRunner(queue string, spans *spanHolder, lease *leaseHolder) engine.LocalActivityRunner {
	clock := actrun.LocalClock{Now: time.Now, Sleep: sleepContext, RetryThreshold: w.opts.LocalRetryThreshold}
	return func(ctx context.Context, t engine.LocalActivityTask) engine.LocalActivityOutcome {
		fn, ok := w.reg.Activity(t.Name)
		if _, dynamic := fn.(*registry.Dynamic); (!ok || dynamic) && t.Fn != nil {
			// An unregistered function runs as it is; a registered name
			// wins over the catch-all.
			fn, ok = t.Fn, true
		}
		if !ok {
			return engine.LocalActivityOutcome{Attempt: t.Attempt, Err: workflow.NewPermanentError(workflow.NewError(
				workflow.ErrTypeUnknownActivity, fmt.Sprintf("local activity %q is not registered with this worker", t.Name)))}
		}
		defer lease.keep()()
		return actrun.RunLocal(ctx, t, clock, func(actx context.Context, n int) ([]byte, error) {
			return w.localAttempt(actx, queue, spans, t, fn, n)
		})
	}
}

// localAttempt runs attempt n of a local activity, in a span.
func (w *Worker) localAttempt(ctx context.Context, queue string, spans *spanHolder, t engine.LocalActivityTask, fn any, n int) ([]byte, error) {
	if sc := spans.get(); sc.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, sc)
	}
	ctx, span := w.tel.Tracer().Start(ctx, "RunLocalActivity "+t.Name, trace.WithSpanKind(trace.SpanKindInternal))
	if span.IsRecording() {
		span.SetAttributes(
			telemetry.KeyNamespace.String(w.b.Namespace()),
			telemetry.KeyQueue.String(queue),
			telemetry.KeyActivity.String(t.Name),
			telemetry.KeyAttempt.Int(n),
			telemetry.KeyInstanceID.String(t.InstanceID),
			telemetry.KeyExecutionID.String(t.ExecutionID),
			keyLocal.Bool(true),
		)
	}
	env := &actenv.Env{
		InstanceID:   t.InstanceID,
		ExecutionID:  t.ExecutionID,
		ActivityName: t.Name,
		Attempt:      n,
		ScheduledAt:  t.ScheduledAt,
		Local:        true,
	}
	env.Logger = env.TaggedLogger(w.log)
	if ids := activityLogAttrs(span); ids != nil {
		env.Logger = env.Logger.With(ids...)
	}
	ctx = actenv.With(ctx, env)
	ctx, err := workflow.ExtractHeader(ctx, w.opts.ContextPropagators, t.Header)
	began := time.Now()
	var result []byte
	if err != nil {
		err = workflow.NewPermanentError(fmt.Errorf("local activity %s: context propagation: %w", t.Name, err))
	} else {
		result, err = actrun.Invoke(ctx, fn, t.Args, w.conv)
	}
	telemetry.EndSpan(span, err)
	outcome := outcomeCompleted
	if err != nil {
		outcome = outcomeFailed
	}
	attrs := w.tel.Attrs(queue, telemetry.KeyActivity, t.Name, telemetry.KeyOutcome, outcome)
	w.tel.ActivityDuration.Record(context.Background(), time.Since(began).Seconds(), attrs)
	w.tel.ActivityAttempts.Add(context.Background(), 1, attrs)
	return result, err
}

// sleepContext waits for d, or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leaseHolder holds the messages of a run's running workflow task, so
// that its local activities keep them leased while they run: a task that
// runs local activities can take longer than the ack wait, and no other
// worker must take its messages meanwhile. Workflow code itself gets no
// such lease: a task stuck there is taken over after the ack wait.
type leaseHolder struct {
	every time.Duration
	mu    sync.Mutex
	msgs  []*streams.InboxMessage
}

// set records the running task's messages (nil: none).
func (h *leaseHolder) set(msgs []*streams.InboxMessage) {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.msgs = msgs
	h.mu.Unlock()
}

// keep keeps the running task's messages leased, every so often, until
// stop is called. A local activity that ends sooner costs one timer.
func (h *leaseHolder) keep() (stop func()) {
	if h == nil || h.every <= 0 {
		return func() {}
	}
	h.mu.Lock()
	msgs := h.msgs
	h.mu.Unlock()
	if len(msgs) == 0 {
		return func() {}
	}
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock() // t is set before the first tick reads it
	t = time.AfterFunc(h.every, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		for _, m := range msgs {
			_ = m.InProgress()
		}
		t.Reset(h.every)
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}
