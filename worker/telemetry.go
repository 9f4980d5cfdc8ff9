package worker

// Telemetry of workflow tasks, activities and queries: spans and metrics
// (see docs/observability.md). Spans are made only for new work: a task
// span when a task has events its executor has not applied, child spans for
// the timers and signals it took only once its commit is stored, none at
// all for a replay. The trace context travels in the history (the run's
// WorkflowStarted event, the commands a task records) so a task run by any
// worker, after any crash, joins the run's trace.

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
)

// runTrace is a cached run's telemetry state.
type runTrace struct {
	// parent is the context of the span the run's tasks are children of
	// (from its WorkflowStarted event); nil until first needed.
	parent context.Context
	// spanName is the run's task span name, built once.
	spanName string
	// current is the running task's span context, for the trace and span
	// IDs of workflow.Logger records.
	current *spanHolder
}

// spanHolder holds the span context log records of a run are tagged with.
type spanHolder struct {
	sc atomic.Pointer[trace.SpanContext]
}

func (h *spanHolder) set(sc trace.SpanContext) {
	if h == nil {
		return
	}
	if !sc.IsValid() {
		if h.sc.Load() != nil {
			h.sc.Store(nil)
		}
		return
	}
	h.sc.Store(&sc)
}

// get returns the span context held (zero when none).
func (h *spanHolder) get() trace.SpanContext {
	if h == nil {
		return trace.SpanContext{}
	}
	if sc := h.sc.Load(); sc != nil {
		return *sc
	}
	return trace.SpanContext{}
}

// traceLogHandler adds trace_id and span_id to the records of a run's
// workflow.Logger while one of its tasks has a span.
type traceLogHandler struct {
	inner slog.Handler
	h     *spanHolder
}

func (t *traceLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.inner.Enabled(ctx, l)
}

func (t *traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := t.h.sc.Load(); sc != nil {
		r = r.Clone()
		r.AddAttrs(slog.String(logkey.TraceID, sc.TraceID().String()), slog.String(logkey.SpanID, sc.SpanID().String()))
	}
	return t.inner.Handle(ctx, r)
}

func (t *traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &traceLogHandler{inner: t.inner.WithAttrs(attrs), h: t.h}
}

func (t *traceLogHandler) WithGroup(name string) slog.Handler {
	return &traceLogHandler{inner: t.inner.WithGroup(name), h: t.h}
}

// parentContext is the context the run's task spans are children of.
func (w *Worker) parentContext(cr *cachedRun) context.Context {
	if cr.trace.parent == nil {
		cr.trace.parent = w.tel.Extract(context.Background(), cr.started.Trace)
	}
	return cr.trace.parent
}

// hasNewEvents reports whether the executor of a running run has not
// applied some of msgs' events: only then does the task do new work worth
// a span.
func hasNewEvents(cr *cachedRun, msgs []*streams.InboxMessage) bool {
	if _, done := cr.ex.Final(); done {
		return false // late events for a finished run change nothing
	}
	for _, m := range msgs {
		if !cr.ex.Applied(m.Event.InboxID) {
			return true
		}
	}
	return false
}

// startTaskSpan starts the span of a workflow task with new events, a child
// of the run's trace, and tags the run's log records with it.
func (w *Worker) startTaskSpan(cr *cachedRun, queue, inst, run string, msgs []*streams.InboxMessage) (context.Context, trace.Span) {
	if cr.trace.spanName == "" {
		cr.trace.spanName = "WorkflowTask " + cr.started.Name
	}
	ctx, span := w.tel.Tracer().Start(w.parentContext(cr), cr.trace.spanName, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(
			telemetry.KeyMessagingSystem.String("nats"),
			telemetry.KeyMessagingOperationType.String("process"),
			telemetry.KeyMessagingDestination.String(queue),
			telemetry.KeyMessagingBatchCount.Int(len(msgs)),
			telemetry.KeyNamespace.String(w.b.Namespace()),
			telemetry.KeyQueue.String(queue),
			telemetry.KeyWorkflow.String(cr.started.Name),
			telemetry.KeyInstanceID.String(inst),
			telemetry.KeyExecutionID.String(run),
		)
	}
	cr.trace.current.set(span.SpanContext())
	return ctx, span
}

// timerStarts returns when each timer a task's TimerFired events answer
// was scheduled, read from the executor before the task applies them.
func timerStarts(cr *cachedRun, msgs []*streams.InboxMessage) map[int64]history.Event {
	var m map[int64]history.Event
	for _, msg := range msgs {
		if msg.Event.Kind != history.TimerFired {
			continue
		}
		if ev, ok := cr.ex.Command(msg.Event.ScheduleID); ok {
			if m == nil {
				m = map[int64]history.Event{}
			}
			m[ev.ID] = ev
		}
	}
	return m
}

// traceCommit stamps the task's trace context on the commands it issued
// (activities, sub-workflows, signals to other instances), and on the
// run's start when its starter had no trace, so the work they cause joins
// the trace, whoever runs it.
func (w *Worker) traceCommit(ctx context.Context, cr *cachedRun, out []history.Event) {
	tc := w.tel.Inject(ctx)
	if tc == nil {
		return
	}
	for i := range out {
		switch out[i].Kind {
		case history.ActivityScheduled, history.SubWorkflowScheduled, history.SignalWorkflowScheduled:
			out[i].Trace = tc
		case history.WorkflowStarted:
			if out[i].Trace == nil {
				out[i].Trace = tc
				cr.started.Trace = tc
				cr.trace.parent = nil // the next tasks are children of this one
			}
		}
	}
}

// committedSpans records the spans of the events a stored commit took:
// a timer's wait (from its scheduling to the task that took its firing)
// and a signal's receipt, linked to its sender's span. Only a stored
// commit has them, so a task that runs again records them once.
func (w *Worker) committedSpans(ctx context.Context, timers map[int64]history.Event, out []history.Event) {
	now := time.Now()
	tr := w.tel.Tracer()
	for i := range out {
		e := &out[i]
		switch e.Kind {
		case history.TimerFired:
			sched, ok := timers[e.ScheduleID]
			if !ok {
				continue
			}
			_, span := tr.Start(ctx, "Timer", trace.WithTimestamp(sched.Time), trace.WithSpanKind(trace.SpanKindInternal),
				trace.WithAttributes(telemetry.KeyScheduleID.Int64(e.ScheduleID), telemetry.KeyFireAt.String(sched.FireAt.Format(time.RFC3339Nano))))
			span.End(trace.WithTimestamp(now))
		case history.SignalReceived:
			opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(telemetry.KeySignal.String(e.Name), telemetry.KeyMessagingOperationType.String("process"))}
			if sc := w.tel.SpanContext(e.Trace); sc.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
			}
			_, span := tr.Start(ctx, "ReceiveSignal "+e.Name, opts...)
			span.End()
		}
	}
}

// Hook for updates (issue 19): an accepted update is an inbound event of a
// task like a signal; give it a case in committedSpans ("HandleUpdate
// <name>", linked to the caller's span from its event's Trace), and let
// the client stamp the caller's span with telemetry.Inject as
// SignalWorkflow does.

// recordTaskMetrics records a finished task's duration and, for a task
// handed back, a retry.
func (w *Worker) recordTaskMetrics(queue string, o *taskOutcome, start time.Time) {
	name := ""
	if o.cr != nil {
		name = o.cr.started.Name
	}
	attrs := w.tel.Attrs(queue, telemetry.KeyWorkflow, name, "", "")
	w.tel.TaskDuration.Record(context.Background(), time.Since(start).Seconds(), attrs)
	if o.kind == settleRetry {
		w.tel.TaskRetries.Add(context.Background(), 1, attrs)
	}
}

// recordQueueLag records how long each first-delivered message waited.
func (w *Worker) recordQueueLag(queue string, msgs []*streams.InboxMessage, now time.Time) {
	attrs := w.tel.Attrs(queue, "", "", "", "")
	for _, m := range msgs {
		if m.Deliveries() == 1 {
			if p := m.Published(); !p.IsZero() {
				w.tel.TaskQueueLag.Record(context.Background(), now.Sub(p).Seconds(), attrs)
			}
		}
	}
}

// recordRunEnd records a run's end that a commit stored.
func (w *Worker) recordRunEnd(queue string, cr *cachedRun, final history.Event) {
	attrs := w.tel.Attrs(queue, telemetry.KeyWorkflow, cr.started.Name, telemetry.KeyStatus, string(streams.StatusOf(final.Kind)))
	ctx := context.Background()
	w.tel.WorkflowCompleted.Add(ctx, 1, attrs)
	if !cr.started.Time.IsZero() && !final.Time.IsZero() {
		w.tel.WorkflowDuration.Record(ctx, final.Time.Sub(cr.started.Time).Seconds(), attrs)
	}
}

// startActivitySpan starts the span of one activity attempt, a child of
// the task that scheduled it.
func (w *Worker) startActivitySpan(m *streams.ActivityMessage, attempt int) (context.Context, trace.Span) {
	t := m.Task
	parent := w.tel.Extract(context.Background(), t.Trace)
	ctx, span := w.tel.Tracer().Start(parent, "RunActivity "+t.Name, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(
			telemetry.KeyMessagingSystem.String("nats"),
			telemetry.KeyMessagingOperationType.String("process"),
			telemetry.KeyMessagingDestination.String(t.Queue),
			telemetry.KeyMessagingDeliveryCount.Int64(int64(m.Attempt())),
			telemetry.KeyNamespace.String(w.b.Namespace()),
			telemetry.KeyQueue.String(t.Queue),
			telemetry.KeyActivity.String(t.Name),
			telemetry.KeyAttempt.Int(attempt),
			telemetry.KeyInstanceID.String(t.InstanceID),
			telemetry.KeyExecutionID.String(t.ExecutionID),
			telemetry.KeyScheduleID.Int64(t.ScheduleID),
		)
	}
	return ctx, span
}

// recordActivity records one attempt's metrics; outcome is completed,
// failed or retry.
func (w *Worker) recordActivity(m *streams.ActivityMessage, began time.Time, took time.Duration, outcome string) {
	t := m.Task
	ctx := context.Background()
	attrs := w.tel.Attrs(t.Queue, telemetry.KeyActivity, t.Name, telemetry.KeyOutcome, outcome)
	w.tel.ActivityDuration.Record(ctx, took.Seconds(), attrs)
	w.tel.ActivityAttempts.Add(ctx, 1, attrs)
	if outcome == outcomeRetry {
		w.tel.ActivityRetries.Add(ctx, 1, w.tel.Attrs(t.Queue, telemetry.KeyActivity, t.Name, "", ""))
	}
	if m.Attempt() == 1 && !t.ScheduledAt.IsZero() {
		w.tel.ActivityScheduleToStart.Record(ctx, began.Sub(t.ScheduledAt).Seconds(), w.tel.Attrs(t.Queue, telemetry.KeyActivity, t.Name, "", ""))
	}
}

// Outcomes of an activity attempt, as the jetflow.outcome attribute.
const (
	outcomeCompleted = "completed"
	outcomeFailed    = "failed"
	outcomeRetry     = "retry"
	// outcomeHandedBack: not an attempt; the task went back to the queue
	// unrun (counted in ActivityRetries only).
	outcomeHandedBack = "handed_back"
)

// recordHandBack counts an activity task handed back unrun.
func (w *Worker) recordHandBack(m *streams.ActivityMessage) {
	t := m.Task
	w.tel.ActivityRetries.Add(context.Background(), 1,
		w.tel.Attrs(t.Queue, telemetry.KeyActivity, t.Name, telemetry.KeyOutcome, outcomeHandedBack))
}

// tracedQuery answers a query inside a span, a child of the caller's.
func (w *Worker) tracedQuery(req *streams.QueryRequest) *streams.QueryResponse {
	parent := w.tel.Extract(context.Background(), req.Trace)
	_, span := w.tel.Tracer().Start(parent, "HandleQuery "+req.Name, trace.WithSpanKind(trace.SpanKindServer))
	if span.IsRecording() {
		span.SetAttributes(
			telemetry.KeyRPCSystem.String("jetflow"), telemetry.KeyRPCMethod.String(req.Name),
			telemetry.KeyNamespace.String(w.b.Namespace()), telemetry.KeyQuery.String(req.Name),
			telemetry.KeyInstanceID.String(req.InstanceID),
		)
	}
	resp := w.answerQuery(req)
	var err error
	if resp.Failure != nil {
		err = queryFailure{resp.Failure.Message}
	}
	telemetry.EndSpan(span, err)
	return resp
}

type queryFailure struct{ msg string }

func (q queryFailure) Error() string { return q.msg }

// activityLogAttrs are the trace and span IDs for activity.Logger records.
func activityLogAttrs(span trace.Span) []any {
	sc := span.SpanContext()
	if !sc.IsValid() {
		return nil
	}
	return []any{logkey.TraceID, sc.TraceID().String(), logkey.SpanID, sc.SpanID().String()}
}
