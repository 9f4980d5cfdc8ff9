package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// ToolsAwaitApproval waits up to `within` for `need` "approve" signals,
// counted by a coroutine of its own.
func ToolsAwaitApproval(ctx workflow.Context, need int, within time.Duration) (string, error) {
	n := 0
	ch := workflow.NewSignalChannel[string](ctx, "approve")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if _, ok := ch.Receive(ctx); !ok {
				return
			}
			n++
		}
	})
	ok, err := workflow.AwaitWithTimeout(ctx, within, func() bool { return n >= need })
	if err != nil {
		return "", err
	}
	if !ok {
		return "expired", nil
	}
	return "approved", workflow.AwaitCondition(ctx, func() bool { return n >= need })
}

// AwaitCondition and AwaitWithTimeout on a real server: signals change the
// state the condition reads; a short timeout runs out.
func TestAwaitCondition(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(ToolsAwaitApproval)) })
		ctx := ctxFor(t)

		approved, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsAwaitApproval, 2, time.Hour)
		require.NoError(t, err)
		for range 2 {
			require.NoError(t, e.c.SignalWorkflow(ctx, approved.InstanceID, "approve", "ann"))
		}
		res, err := client.GetWorkflowResult[string](ctx, e.c, approved, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "approved", res)

		expired, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsAwaitApproval, 2, 300*time.Millisecond)
		require.NoError(t, err)
		require.NoError(t, e.c.SignalWorkflow(ctx, expired.InstanceID, "approve", "ann"))
		res, err = client.GetWorkflowResult[string](ctx, e.c, expired, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "expired", res)
	})
}
