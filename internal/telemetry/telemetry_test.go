package telemetry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/history"
)

func TestInjectExtract(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	tel := New("ns", tp, nil)
	for _, tc := range []struct {
		name  string
		ctx   func() (context.Context, trace.Span)
		valid bool
	}{
		{"no span", func() (context.Context, trace.Span) { return context.Background(), nil }, false},
		{"sampled span", func() (context.Context, trace.Span) { return tel.Tracer().Start(context.Background(), "s") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, span := tc.ctx()
			c := tel.Inject(ctx)
			if !tc.valid {
				assert.Nil(t, c, "nothing is stored without a span")
				return
			}
			require.NotNil(t, c)
			assert.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, c.Parent)
			assert.Equal(t, span.SpanContext().SpanID(), tel.SpanContext(c).SpanID())
			assert.True(t, tel.SpanContext(c).IsRemote())
			var got []string
			Headers(c, func(k, v string) { got = append(got, k+"="+v) })
			assert.Equal(t, []string{"traceparent=" + c.Parent}, got)
			assert.Equal(t, c, FromHeaders(headers{"traceparent": c.Parent}.get))
		})
	}
	assert.False(t, tel.SpanContext(nil).IsValid())
	assert.False(t, tel.SpanContext(&history.TraceContext{Parent: "garbage"}).IsValid())
}

type headers map[string]string

func (h headers) get(k string) string { return h[k] }

func TestAttrsAreCached(t *testing.T) {
	tel := New("ns", nil, nil)
	a := tel.Attrs("q", KeyWorkflow, "wf", KeyStatus, "completed")
	assert.Equal(t, a, tel.Attrs("q", KeyWorkflow, "wf", KeyStatus, "completed"))
	assert.Zero(t, testing.AllocsPerRun(100, func() { tel.Attrs("q", KeyWorkflow, "wf", KeyStatus, "completed") }))
}

// BenchmarkOffPathPerWorkflow is what one one-activity workflow spends on
// telemetry with no provider set (the global no-op ones): the spans the
// client, three workflow tasks and one activity attempt start and end, the
// trace contexts looked for, and the measurements a worker records. Compare
// with the CPU per workflow of `wfctl bench simple` (about 500 µs here).
func BenchmarkOffPathPerWorkflow(b *testing.B) {
	tel := New("ns", nil, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for range 5 { // start, 3 tasks, 1 attempt
			sctx, span := tel.Tracer().Start(ctx, "span", trace.WithSpanKind(trace.SpanKindConsumer))
			if span.IsRecording() {
				b.Fatal("recording without a provider")
			}
			_ = tel.Inject(sctx)
			EndSpan(span, nil)
		}
		_ = tel.Extract(ctx, nil)
		attrs := tel.Attrs("default", KeyWorkflow, "SimpleWorkflow", "", "")
		for range 3 {
			tel.TaskDuration.Record(ctx, time.Millisecond.Seconds(), attrs)
			tel.TaskQueueLag.Record(ctx, time.Millisecond.Seconds(), tel.Attrs("default", "", "", "", ""))
			tel.CacheHits.Add(ctx, 1, tel.Attrs("", "", "", "", ""))
		}
		tel.Commits.Add(ctx, 2, attrs)
		tel.WorkflowCompleted.Add(ctx, 1, tel.Attrs("default", KeyWorkflow, "SimpleWorkflow", KeyStatus, "completed"))
		tel.WorkflowDuration.Record(ctx, 0.03, attrs)
		aattrs := tel.Attrs("default", KeyActivity, "SimpleActivity", KeyOutcome, "completed")
		tel.ActivityDuration.Record(ctx, 0.001, aattrs)
		tel.ActivityAttempts.Add(ctx, 1, aattrs)
		tel.ActivityScheduleToStart.Record(ctx, 0.001, tel.Attrs("default", KeyActivity, "SimpleActivity", "", ""))
	}
}
