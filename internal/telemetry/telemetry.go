// Package telemetry is jetflow's OpenTelemetry plumbing: the tracer, the
// metric instruments and the helpers that carry W3C trace context through
// NATS headers and history events. A streams.Backend holds one Telemetry,
// built from the providers given to streams.WithTracerProvider and
// streams.WithMeterProvider (by default the global ones); worker and client
// reach it through Backend.Telemetry.
//
// With no provider set (the global no-op ones) every call here costs next
// to nothing: spans are not recording, so no attribute is built and no
// trace context is injected, and measurements go to no-op instruments with
// attribute sets built once per (queue, name) and reused.
package telemetry

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/history"
)

// ScopeName is the instrumentation scope of jetflow's tracer and meter.
const ScopeName = "github.com/jetflow/jetflow"

// Attribute keys of jetflow's spans and metrics. Metrics use only the
// bounded ones (namespace, queue, workflow, activity, status, kind,
// outcome): never an instance or run ID.
const (
	KeyNamespace   = attribute.Key("jetflow.namespace")
	KeyQueue       = attribute.Key("jetflow.queue")
	KeyWorkflow    = attribute.Key("jetflow.workflow")
	KeyActivity    = attribute.Key("jetflow.activity")
	KeyStatus      = attribute.Key("jetflow.status")
	KeyKind        = attribute.Key("jetflow.kind")
	KeyOutcome     = attribute.Key("jetflow.outcome")
	KeyInstanceID  = attribute.Key("jetflow.instance_id")
	KeyExecutionID = attribute.Key("jetflow.execution_id")
	KeyAttempt     = attribute.Key("jetflow.activity.attempt")
	KeyScheduleID  = attribute.Key("jetflow.schedule_id")
	KeySignal      = attribute.Key("jetflow.signal")
	KeyQuery       = attribute.Key("jetflow.query")
	KeyEvents      = attribute.Key("jetflow.task.events")
	KeyFireAt      = attribute.Key("jetflow.timer.fire_at")

	// From OpenTelemetry's messaging conventions.
	KeyMessagingSystem        = attribute.Key("messaging.system")
	KeyMessagingOperationType = attribute.Key("messaging.operation.type")
	KeyMessagingOperationName = attribute.Key("messaging.operation.name")
	KeyMessagingDestination   = attribute.Key("messaging.destination.name")
	KeyMessagingBatchCount    = attribute.Key("messaging.batch.message_count")
	KeyMessagingDeliveryCount = attribute.Key("messaging.message.delivery_count")
	// From OpenTelemetry's RPC conventions (queries).
	KeyRPCSystem  = attribute.Key("rpc.system")
	KeyRPCService = attribute.Key("rpc.service")
	KeyRPCMethod  = attribute.Key("rpc.method")
)

// Telemetry is a namespace's tracer and instruments. It is safe for
// concurrent use.
type Telemetry struct {
	namespace string
	tracer    trace.Tracer
	prop      propagation.TraceContext

	// WorkflowCompleted counts runs that ended (workflow, status).
	WorkflowCompleted metric.Int64Counter
	// WorkflowDuration is a run's time from its start event to its end.
	WorkflowDuration metric.Float64Histogram
	// TaskDuration is a workflow task's time, fetch to acknowledgement.
	TaskDuration metric.Float64Histogram
	// TaskQueueLag is how long an inbox message waited before its task
	// began.
	TaskQueueLag metric.Float64Histogram
	// TaskRetries counts workflow tasks handed back to run again.
	TaskRetries metric.Int64Counter
	// ActivityDuration is one activity attempt's time.
	ActivityDuration metric.Float64Histogram
	// ActivityAttempts counts activity attempts (activity, outcome).
	ActivityAttempts metric.Int64Counter
	// ActivityRetries counts failed attempts that will be retried.
	ActivityRetries metric.Int64Counter
	// ActivityScheduleToStart is how long a first attempt waited between
	// its scheduling and its start.
	ActivityScheduleToStart metric.Float64Histogram
	// CacheHits, CacheMisses and CacheEvictions count the executor
	// cache's lookups and evictions.
	CacheHits, CacheMisses, CacheEvictions metric.Int64Counter
	// Commits counts stored commits; Conflicts the commits that lost a
	// sequence check.
	Commits, Conflicts metric.Int64Counter
	// DeadLetters counts messages moved to the dead-letter stream (kind).
	DeadLetters metric.Int64Counter

	attrs sync.Map // attrKey → metric.MeasurementOption
}

// New builds a namespace's telemetry on the given providers; nil means the
// global one.
func New(namespace string, tp trace.TracerProvider, mp metric.MeterProvider) *Telemetry {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &Telemetry{namespace: namespace, tracer: tp.Tracer(ScopeName)}
	m := mp.Meter(ScopeName)
	sec := metric.WithUnit("s")
	// Instrument creation only fails on an invalid name, and these are
	// constants: the returned instruments are usable (no-op) even then.
	t.WorkflowCompleted, _ = m.Int64Counter("jetflow.workflow.completed",
		metric.WithDescription("Workflow runs that ended, by status."), metric.WithUnit("{run}"))
	t.WorkflowDuration, _ = m.Float64Histogram("jetflow.workflow.duration",
		metric.WithDescription("A workflow run's time from its start event to its end (end to end)."), sec)
	t.TaskDuration, _ = m.Float64Histogram("jetflow.workflow.task.duration",
		metric.WithDescription("A workflow task's time, from its start to its messages' settlement."), sec)
	t.TaskQueueLag, _ = m.Float64Histogram("jetflow.workflow.task.queue_lag",
		metric.WithDescription("How long an inbox message waited in the task queue before a worker took it."), sec)
	t.TaskRetries, _ = m.Int64Counter("jetflow.workflow.task.retries",
		metric.WithDescription("Workflow tasks handed back to run again after a failure or a commit conflict."), metric.WithUnit("{task}"))
	t.ActivityDuration, _ = m.Float64Histogram("jetflow.activity.duration",
		metric.WithDescription("One activity attempt's run time."), sec)
	t.ActivityAttempts, _ = m.Int64Counter("jetflow.activity.attempts",
		metric.WithDescription("Activity attempts, by outcome (completed, failed, retry)."), metric.WithUnit("{attempt}"))
	t.ActivityRetries, _ = m.Int64Counter("jetflow.activity.retries",
		metric.WithDescription("Activity attempts that failed and will be retried."), metric.WithUnit("{attempt}"))
	t.ActivityScheduleToStart, _ = m.Float64Histogram("jetflow.activity.schedule_to_start",
		metric.WithDescription("How long an activity's first attempt waited between its scheduling and its start."), sec)
	t.CacheHits, _ = m.Int64Counter("jetflow.cache.hits",
		metric.WithDescription("Workflow tasks that found their run's executor in the cache."), metric.WithUnit("{lookup}"))
	t.CacheMisses, _ = m.Int64Counter("jetflow.cache.misses",
		metric.WithDescription("Workflow tasks that had to read and replay their run's history."), metric.WithUnit("{lookup}"))
	t.CacheEvictions, _ = m.Int64Counter("jetflow.cache.evictions",
		metric.WithDescription("Executors evicted from the cache to make room."), metric.WithUnit("{executor}"))
	t.Commits, _ = m.Int64Counter("jetflow.history.commits",
		metric.WithDescription("Commits stored to run histories."), metric.WithUnit("{commit}"))
	t.Conflicts, _ = m.Int64Counter("jetflow.history.conflicts",
		metric.WithDescription("Commits that lost a sequence check to another worker's commit."), metric.WithUnit("{commit}"))
	t.DeadLetters, _ = m.Int64Counter("jetflow.dead_letters",
		metric.WithDescription("Messages moved to the dead-letter stream, by kind."), metric.WithUnit("{message}"))
	return t
}

// Tracer is jetflow's tracer.
func (t *Telemetry) Tracer() trace.Tracer { return t.tracer }

// Namespace is the namespace the telemetry is tagged with.
func (t *Telemetry) Namespace() string { return t.namespace }

// attrKey names one cached attribute set.
type attrKey struct {
	queue, name, extra string
	nameKey, extraKey  attribute.Key
}

// Attrs returns the measurement option for (namespace, queue, nameKey=name,
// extraKey=extra), built once and reused: building an attribute set
// allocates, and this runs on every task. Empty values are left out.
func (t *Telemetry) Attrs(queue string, nameKey attribute.Key, name string, extraKey attribute.Key, extra string) metric.MeasurementOption {
	k := attrKey{queue: queue, name: name, extra: extra, nameKey: nameKey, extraKey: extraKey}
	if o, ok := t.attrs.Load(k); ok {
		return o.(metric.MeasurementOption)
	}
	kvs := make([]attribute.KeyValue, 0, 4)
	kvs = append(kvs, KeyNamespace.String(t.namespace))
	if queue != "" {
		kvs = append(kvs, KeyQueue.String(queue))
	}
	if nameKey != "" && name != "" {
		kvs = append(kvs, nameKey.String(name))
	}
	if extraKey != "" && extra != "" {
		kvs = append(kvs, extraKey.String(extra))
	}
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	// Names come from registered functions and a fixed set of kinds and
	// statuses: the map stays as small as the application.
	actual, _ := t.attrs.LoadOrStore(k, o)
	return actual.(metric.MeasurementOption)
}

// Seconds is d in seconds, the unit of every duration instrument.
func Seconds(d time.Duration) float64 { return d.Seconds() }

// Inject returns the W3C trace context of ctx's span, or nil when ctx has
// no sampled, valid span (tracing off): nothing is stored then.
func (t *Telemetry) Inject(ctx context.Context) *history.TraceContext {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	c := &history.TraceContext{}
	t.prop.Inject(ctx, carrier{c})
	if c.Parent == "" {
		return nil
	}
	return c
}

// Extract returns ctx with the remote span context tc names (ctx itself
// for nil).
func (t *Telemetry) Extract(ctx context.Context, tc *history.TraceContext) context.Context {
	if tc == nil || tc.Parent == "" {
		return ctx
	}
	return t.prop.Extract(ctx, carrier{tc})
}

// SpanContext is the span context tc names (invalid for nil).
func (t *Telemetry) SpanContext(tc *history.TraceContext) trace.SpanContext {
	if tc == nil {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(t.Extract(context.Background(), tc))
}

// carrier adapts a history.TraceContext to the propagator.
type carrier struct{ c *history.TraceContext }

const (
	headerTraceParent = "traceparent"
	headerTraceState  = "tracestate"
)

func (c carrier) Get(key string) string {
	switch key {
	case headerTraceParent:
		return c.c.Parent
	case headerTraceState:
		return c.c.State
	}
	return ""
}

func (c carrier) Set(key, value string) {
	switch key {
	case headerTraceParent:
		c.c.Parent = value
	case headerTraceState:
		c.c.State = value
	}
}

func (c carrier) Keys() []string { return []string{headerTraceParent, headerTraceState} }

// Headers sets the W3C trace context headers (traceparent, tracestate) of
// a NATS message from tc; set is the header's Set.
func Headers(tc *history.TraceContext, set func(key, value string)) {
	if tc == nil || tc.Parent == "" {
		return
	}
	set(headerTraceParent, tc.Parent)
	if tc.State != "" {
		set(headerTraceState, tc.State)
	}
}

// FromHeaders reads the W3C trace context of a NATS message's headers;
// get is the header's Get. Nil when there is none.
func FromHeaders(get func(key string) string) *history.TraceContext {
	p := get(headerTraceParent)
	if p == "" {
		return nil
	}
	return &history.TraceContext{Parent: p, State: get(headerTraceState)}
}

// EndSpan ends a span, recording err (if any) as its status.
func EndSpan(span trace.Span, err error, opts ...trace.SpanEndOption) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(opts...)
}
