package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

func add(ctx context.Context, a, b int) (int, error) { return a + b, nil }

func sumWorkflow(ctx workflow.Context, x int) (int, error) {
	r1, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, add, x, 12).Get(ctx)
	if err != nil {
		return 0, err
	}
	if err := workflow.Sleep(ctx, 100*time.Millisecond); err != nil {
		return 0, err
	}
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, add, r1, 12).Get(ctx)
}

func TestWorkerRunsAWorkflow(t *testing.T) {
	b := testenv.Backend(t, testenv.Conn(t, testenv.Server(t)))
	w := New(b, nil)
	require.NoError(t, w.RegisterWorkflow(sumWorkflow))
	require.NoError(t, w.RegisterActivity(add))
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, w.Start(ctx))

	arg, _ := converter.Default.Encode(35)
	now := time.Now().UTC()
	_, err := b.CreateInstance(ctx, &streams.InstanceRecord{InstanceID: "s1", WorkflowName: "sumWorkflow", Queue: "default", ExecutionID: "r1", Status: streams.StatusRunning, CreatedAt: now})
	require.NoError(t, err)
	require.NoError(t, b.PublishEvent(ctx, "default", "s1", &history.Event{Kind: history.WorkflowStarted, InboxID: "start:r1", ExecutionID: "r1", Name: "sumWorkflow", Queue: "default", Args: [][]byte{arg}, Time: now}))

	deadline := time.Now().Add(10 * time.Second)
	var rec *streams.InstanceRecord
	for time.Now().Before(deadline) {
		rec, err = b.GetInstance(ctx, "s1")
		require.NoError(t, err)
		if rec.Status.Finished() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("completed after %s", time.Since(now))
	require.Equal(t, streams.StatusCompleted, rec.Status, "%+v", rec.Failure)
	var res int
	require.NoError(t, converter.Default.Decode(rec.Result, &res))
	require.Equal(t, 59, res)
	cancel()
	require.NoError(t, w.WaitForCompletion())
}
