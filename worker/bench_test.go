package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
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
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	be, err := streams.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	w := worker.New(be, nil)
	if err := w.RegisterWorkflow(countTo); err != nil {
		b.Fatal(err)
	}
	if err := w.RegisterActivity(increment); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Start(ctx); err != nil {
		b.Fatal(err)
	}
	c := client.New(be)

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
	cancel()
	_ = w.WaitForCompletion()
}
