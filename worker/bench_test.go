package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func increment(_ context.Context, n int) (int, error) { return n + 1, nil }

// countTo runs n activities one after the other.
func countTo(ctx workflow.Context, n int) (int, error) {
	v := 0
	for range n {
		var err error
		if v, err = workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, increment, v).Get(ctx); err != nil {
			return 0, err
		}
	}
	return v, nil
}

// BenchmarkActivityRoundTrip is the latency of one activity, end to end on
// a real embedded server (file store): the commit that schedules it, the
// task's publish and delivery, the call, the result's publish and
// delivery, and the workflow task that takes it. One workflow runs b.N
// activities in sequence on a warm executor, so nothing overlaps.
func BenchmarkActivityRoundTrip(b *testing.B) {
	be := testenv.Backend(b, testenv.Conn(b, testenv.Server(b)))
	wftest.Worker(b, be, nil, func(w *worker.Worker) {
		require.NoError(b, w.RegisterWorkflow(countTo))
		require.NoError(b, w.RegisterActivity(increment))
	})
	c := client.New(be)
	ctx := context.Background()

	b.ResetTimer()
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, countTo, b.N)
	if err != nil {
		b.Fatal(err)
	}
	got, err := client.GetWorkflowResult[int](ctx, c, inst, 10*time.Minute)
	b.StopTimer()
	if err != nil || got != b.N {
		b.Fatalf("result %d, %v; want %d", got, err, b.N)
	}
}

// relay continues as new until it has run n times.
func relay(ctx workflow.Context, i, n int) (int, error) {
	if i < n {
		return 0, workflow.ContinueAsNew(ctx, i+1, n)
	}
	return i, nil
}

// BenchmarkContinueAsNew runs one instance through b.N real runs, each
// continuing as new, on a real embedded server: the time per run, and
// proof that an instance can go on for ever (its registry record keeps the
// newest streams.MaxListedRuns runs). go test ./worker -run XXX -bench
// ContinueAsNew -benchtime 10000x runs 10,000.
func BenchmarkContinueAsNew(b *testing.B) {
	be := testenv.Backend(b, testenv.Conn(b, testenv.Server(b)))
	wftest.Worker(b, be, nil, func(w *worker.Worker) { require.NoError(b, w.RegisterWorkflow(relay)) })
	c := client.New(be)
	ctx := context.Background()

	b.ResetTimer()
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "relay"}, relay, 1, b.N)
	if err != nil {
		b.Fatal(err)
	}
	got, err := client.GetWorkflowResult[int](ctx, c, &workflow.Instance{InstanceID: inst.InstanceID}, 30*time.Minute)
	b.StopTimer()
	if err != nil || got != b.N {
		b.Fatalf("result %d, %v; want %d", got, err, b.N)
	}
	rec, err := be.GetInstance(ctx, "relay")
	if err != nil {
		b.Fatal(err)
	}
	if rec.RunCount() != b.N {
		b.Fatalf("the record counts %d runs; want %d", rec.RunCount(), b.N)
	}
	b.ReportMetric(float64(len(rec.Runs)), "listed-runs")
}
