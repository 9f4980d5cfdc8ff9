package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// flakyGreet fails its first attempt, so a run has two attempt spans.
func flakyGreet(ctx context.Context, name string) (string, error) {
	activity.Logger(ctx).Info("greeting")
	if activity.Attempt(ctx) == 1 {
		return "", errors.New("first attempt fails")
	}
	return "hello " + name, nil
}

func tracedChild(ctx workflow.Context, n int) (int, error) {
	return n * 2, nil
}

// tracedParent has one of everything a trace shows: an activity (retried
// once), a timer, a signal and a sub-workflow.
func tracedParent(ctx workflow.Context, name string) (string, error) {
	workflow.Logger(ctx).Info("parent running")
	opts := workflow.DefaultActivityOptions
	opts.RetryOptions.FirstRetryInterval = 10 * time.Millisecond
	g, err := workflow.ExecuteActivity[string](ctx, opts, flakyGreet, name).Get(ctx)
	if err != nil {
		return "", err
	}
	if err := workflow.Sleep(ctx, 10*time.Millisecond); err != nil {
		return "", err
	}
	v, _ := workflow.NewSignalChannel[string](ctx, "go").Receive(ctx)
	n, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, tracedChild, 21).Get(ctx)
	if err != nil {
		return "", err
	}
	return g + " " + v + " " + string(rune('0'+n/10)) + string(rune('0'+n%10)), nil
}

// telemetryEnv is a test's world with in-process OpenTelemetry SDKs: a
// span recorder and a manual metric reader.
type telemetryEnv struct {
	*wftest.Env
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	logs   *logCapture
}

func newTelemetryEnv(t *testing.T, opts *worker.Options) *telemetryEnv {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	logs := &logCapture{}
	o := worker.Options{}
	if opts != nil {
		o = *opts
	}
	o.Logger = slog.New(logs)
	env := wftest.New(t, wftest.Options{
		Prefix:  "otel",
		Streams: []streams.Option{streams.WithTracerProvider(tp), streams.WithMeterProvider(mp)},
		Worker:  &o,
		Register: func(w *worker.Worker) {
			require.NoError(t, w.RegisterWorkflow(tracedParent))
			require.NoError(t, w.RegisterWorkflow(tracedChild))
			require.NoError(t, w.RegisterActivity(flakyGreet))
		},
	})
	return &telemetryEnv{Env: env, spans: spans, tp: tp, reader: reader, logs: logs}
}

// run starts tracedParent inside a root span, signals it, waits for its
// result and returns the instance and the root span's context.
func (e *telemetryEnv) run(t *testing.T, id string) (*workflow.Instance, trace.SpanContext) {
	ctx := testenv.Context(t, 30*time.Second)
	ctx, root := e.tp.Tracer("test").Start(ctx, "root")
	inst, err := e.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, tracedParent, "ann")
	require.NoError(t, err)
	require.NoError(t, e.Client.SignalWorkflow(ctx, id, "go", "now"))
	root.End()
	res, err := client.GetWorkflowResult[string](ctx, e.Client, inst, 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, "hello ann now 42", res)
	return inst, root.SpanContext()
}

// ended returns the ended spans by name, waiting until want(spans) holds:
// a span ends after the result that the test waited for is sent.
func (e *telemetryEnv) ended(t *testing.T, want func(map[string][]sdktrace.ReadOnlySpan) bool) map[string][]sdktrace.ReadOnlySpan {
	var byName map[string][]sdktrace.ReadOnlySpan
	testenv.WaitFor(t, 10*time.Second, "the expected spans", func() bool {
		byName = map[string][]sdktrace.ReadOnlySpan{}
		for _, s := range e.spans.Ended() {
			byName[s.Name()] = append(byName[s.Name()], s)
		}
		return want(byName)
	})
	return byName
}

func spanByID(spans []sdktrace.ReadOnlySpan, id trace.SpanID) sdktrace.ReadOnlySpan {
	for _, s := range spans {
		if s.SpanContext().SpanID() == id {
			return s
		}
	}
	return nil
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// TestTraceOfAWorkflow checks the span tree of a workflow with an
// activity (two attempts), a timer, a signal and a sub-workflow: every span
// is in the trace of the span the client started it in, and each hangs
// from the span whose work caused it.
func TestTraceOfAWorkflow(t *testing.T) {
	e := newTelemetryEnv(t, nil)
	inst, root := e.run(t, "traced")
	spans := e.ended(t, func(m map[string][]sdktrace.ReadOnlySpan) bool {
		return len(m["RunActivity flakyGreet"]) == 2 && len(m["WorkflowTask tracedChild"]) >= 1 &&
			len(m["Timer"]) == 1 && len(m["ReceiveSignal go"]) == 1 && len(m["WorkflowTask tracedParent"]) >= 4
	})
	all := e.spans.Ended()
	for _, s := range all {
		assert.Equal(t, root.TraceID(), s.SpanContext().TraceID(), "span %s is in the workflow's trace", s.Name())
	}
	parentOf := func(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan { return spanByID(all, s.Parent().SpanID()) }

	start := spans["StartWorkflow tracedParent"]
	require.Len(t, start, 1)
	assert.Equal(t, root.SpanID(), start[0].Parent().SpanID(), "the start is a child of the caller's span")
	assert.Equal(t, trace.SpanKindProducer, start[0].SpanKind())
	assert.Equal(t, "traced", attr(start[0], "jetflow.instance_id").AsString())

	for _, task := range spans["WorkflowTask tracedParent"] {
		assert.Equal(t, start[0].SpanContext().SpanID(), task.Parent().SpanID(), "a task is a child of the start")
		assert.Equal(t, inst.ExecutionID, attr(task, "jetflow.execution_id").AsString())
	}
	attempts := map[int64]sdktrace.ReadOnlySpan{}
	for _, a := range spans["RunActivity flakyGreet"] {
		attempts[attr(a, "jetflow.activity.attempt").AsInt64()] = a
		assert.Equal(t, "WorkflowTask tracedParent", parentOf(a).Name(), "an attempt is a child of the task that scheduled it")
	}
	require.Contains(t, attempts, int64(1))
	require.Contains(t, attempts, int64(2))
	assert.Equal(t, "Error", attempts[1].Status().Code.String(), "the failed attempt carries its error")
	assert.Equal(t, "first attempt fails", attempts[1].Status().Description)
	assert.Equal(t, "Unset", attempts[2].Status().Code.String())

	timer := spans["Timer"][0]
	assert.Equal(t, "WorkflowTask tracedParent", parentOf(timer).Name())
	assert.GreaterOrEqual(t, timer.EndTime().Sub(timer.StartTime()), 10*time.Millisecond, "the timer span lasts at least the timer")

	signal := spans["ReceiveSignal go"][0]
	assert.Equal(t, "WorkflowTask tracedParent", parentOf(signal).Name())
	sent := spans["SignalWorkflow go"]
	require.Len(t, sent, 1)
	require.Len(t, signal.Links(), 1)
	assert.Equal(t, sent[0].SpanContext().SpanID(), signal.Links()[0].SpanContext.SpanID(), "the receipt links to the sender")

	for _, task := range spans["WorkflowTask tracedChild"] {
		assert.Equal(t, "WorkflowTask tracedParent", parentOf(task).Name(), "the child's tasks hang from the parent's task")
	}

	// The records of workflow.Logger and activity.Logger carry the trace.
	for _, msg := range []string{"parent running", "greeting"} {
		rec, ok := e.logs.find(msg)
		require.True(t, ok, "record %q", msg)
		assert.Equal(t, root.TraceID().String(), rec["trace_id"], "record %q carries the trace ID", msg)
		assert.NotEmpty(t, rec["span_id"])
	}
}

// TestReplayAddsNoSpans runs the workflow on a worker that caches no
// executor, so every task replays the run's history first: there is still
// exactly one task span per commit, one span per activity attempt, one
// timer and one signal. A query answered by replaying the finished run
// then adds its own span and nothing else.
func TestReplayAddsNoSpans(t *testing.T) {
	e := newTelemetryEnv(t, &worker.Options{DisableExecutorCache: true})
	inst, _ := e.run(t, "replayed")
	ctx := testenv.Context(t, 30*time.Second)
	h, err := e.Backend.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
	require.NoError(t, err)
	spans := e.ended(t, func(m map[string][]sdktrace.ReadOnlySpan) bool {
		return len(m["WorkflowTask tracedParent"]) >= len(h.Commits) && len(m["WorkflowTask tracedChild"]) >= 1
	})
	assert.Len(t, spans["WorkflowTask tracedParent"], len(h.Commits), "one task span per commit")
	assert.Len(t, spans["RunActivity flakyGreet"], 2)
	assert.Len(t, spans["Timer"], 1)
	assert.Len(t, spans["ReceiveSignal go"], 1)

	before := len(e.spans.Ended())
	_, err = client.QueryWorkflow[string](ctx, e.Client, inst, "no-such-query")
	require.Error(t, err)
	testenv.WaitFor(t, 5*time.Second, "the query's spans", func() bool { return len(e.spans.Ended()) >= before+2 })
	added := e.spans.Ended()[before:]
	names := []string{}
	for _, s := range added {
		names = append(names, s.Name())
	}
	assert.ElementsMatch(t, []string{"QueryWorkflow no-such-query", "HandleQuery no-such-query"}, names,
		"replaying the run for a query adds only the query's spans")
}

// TestMetricsOfAWorkflow reads the instruments after one run with a manual
// reader: the names and attributes API.md and docs/observability.md list,
// and no instance ID anywhere.
func TestMetricsOfAWorkflow(t *testing.T) {
	e := newTelemetryEnv(t, nil)
	e.run(t, "measured")
	ctx := testenv.Context(t, 10*time.Second)
	var rm metricdata.ResourceMetrics
	// A task's duration is recorded when the task ends, after its commit
	// counted the run as completed: wait until every committing task's is.
	testenv.WaitFor(t, 5*time.Second, "both runs and their tasks counted", func() bool {
		require.NoError(t, e.reader.Collect(ctx, &rm))
		return sumOf(rm, "jetflow.workflow.completed", nil) == 2 &&
			int64(countOf(rm, "jetflow.workflow.task.duration")) >= sumOf(rm, "jetflow.history.commits", nil)
	})
	assert.Equal(t, int64(1), sumOf(rm, "jetflow.workflow.completed", map[string]string{
		"jetflow.workflow": "tracedParent", "jetflow.status": "completed", "jetflow.namespace": e.Backend.Namespace(), "jetflow.queue": "default"}))
	assert.Equal(t, int64(1), sumOf(rm, "jetflow.workflow.completed", map[string]string{"jetflow.workflow": "tracedChild"}))
	assert.Equal(t, int64(1), sumOf(rm, "jetflow.activity.attempts", map[string]string{"jetflow.activity": "flakyGreet", "jetflow.outcome": "retry"}))
	assert.Equal(t, int64(1), sumOf(rm, "jetflow.activity.attempts", map[string]string{"jetflow.activity": "flakyGreet", "jetflow.outcome": "completed"}))
	assert.Equal(t, int64(1), sumOf(rm, "jetflow.activity.retries", nil))
	assert.Equal(t, uint64(2), countOf(rm, "jetflow.activity.duration"))
	assert.Equal(t, uint64(1), countOf(rm, "jetflow.activity.schedule_to_start"))
	assert.Equal(t, uint64(2), countOf(rm, "jetflow.workflow.duration"))
	assert.GreaterOrEqual(t, countOf(rm, "jetflow.workflow.task.duration"), uint64(5))
	assert.GreaterOrEqual(t, countOf(rm, "jetflow.workflow.task.queue_lag"), uint64(5))
	assert.GreaterOrEqual(t, sumOf(rm, "jetflow.history.commits", nil), int64(5))
	assert.GreaterOrEqual(t, sumOf(rm, "jetflow.cache.hits", nil), int64(3))

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range attrSets(m) {
				for _, kv := range set.ToSlice() {
					assert.NotContains(t, []string{"jetflow.instance_id", "jetflow.execution_id"}, string(kv.Key),
						"metric %s has a bounded attribute set", m.Name)
				}
			}
		}
	}
}

// sumOf adds up a counter's data points whose attributes include want.
func sumOf(rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					if matches(dp.Attributes, want) {
						n += dp.Value
					}
				}
			}
		}
	}
	return n
}

// countOf is how many values a histogram recorded.
func countOf(rm metricdata.ResourceMetrics, name string) uint64 {
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == name {
				for _, dp := range h.DataPoints {
					n += dp.Count
				}
			}
		}
	}
	return n
}

func matches(set attribute.Set, want map[string]string) bool {
	for k, v := range want {
		got, ok := set.Value(attribute.Key(k))
		if !ok || got.AsString() != v {
			return false
		}
	}
	return true
}

func attrSets(m metricdata.Metrics) []attribute.Set {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	}
	return sets
}

// logCapture keeps every record's attributes by message.
type logCapture struct {
	mu      sync.Mutex
	records []map[string]string
	msgs    []string
	attrs   []slog.Attr
	parent  *logCapture
}

func (c *logCapture) root() *logCapture {
	if c.parent != nil {
		return c.parent
	}
	return c
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]string{}
	for _, a := range c.attrs {
		rec[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec[a.Key] = a.Value.String()
		return true
	})
	root := c.root()
	root.mu.Lock()
	root.records = append(root.records, rec)
	root.msgs = append(root.msgs, r.Message)
	root.mu.Unlock()
	return nil
}

func (c *logCapture) WithAttrs(attrs []slog.Attr) slog.Handler {
	all := append(append([]slog.Attr{}, c.attrs...), attrs...)
	return &logCapture{attrs: all, parent: c.root()}
}

func (c *logCapture) WithGroup(string) slog.Handler { return c }

func (c *logCapture) find(msg string) (map[string]string, bool) {
	root := c.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	for i, m := range root.msgs {
		if m == msg {
			return root.records[i], true
		}
	}
	return nil, false
}
