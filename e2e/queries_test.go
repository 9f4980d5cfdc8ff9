package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Stages reports its stage and a count of signals through queries.
func Stages(ctx workflow.Context) (string, error) {
	stage, signals := "packing", 0
	if err := workflow.SetQueryHandler(ctx, "stage", func() (string, error) { return stage, nil }); err != nil {
		return "", err
	}
	if err := workflow.SetQueryHandler(ctx, "plus", func(n int) (int, error) { return signals + n, nil }); err != nil {
		return "", err
	}
	if _, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Label, "packed").Get(ctx); err != nil {
		return "", err
	}
	stage = "waiting"
	ch := workflow.NewSignalChannel[string](ctx, "go")
	for range 2 {
		ch.Receive(ctx)
		signals++
	}
	stage = "done"
	return stage, nil
}

func TestQueries(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Stages))
			must(t, w.RegisterActivity(Label))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Stages)
		require.NoError(t, err)

		waitFor(t, 10*time.Second, "the waiting stage", func() bool {
			stage, err := client.QueryWorkflow[string](ctx, e.c, inst, "stage")
			return err == nil && stage == "waiting"
		})
		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "go", "one"))
		waitFor(t, 10*time.Second, "the first signal to count", func() bool {
			n, err := client.QueryWorkflow[int](ctx, e.c, &workflow.Instance{InstanceID: inst.InstanceID}, "plus", 10)
			return err == nil && n == 11
		})

		// An unknown name: the error lists the handlers there are.
		_, err = client.QueryWorkflow[string](ctx, e.c, inst, "colour")
		require.Error(t, err)
		var we *workflow.Error
		require.ErrorAs(t, err, &we)
		assert.Contains(t, err.Error(), `"colour"`)
		assert.Contains(t, err.Error(), "plus")
		assert.Contains(t, err.Error(), "stage")

		// Wrong arguments.
		_, err = client.QueryWorkflow[int](ctx, e.c, inst, "plus", "ten")
		require.Error(t, err)

		// After the end, the answer comes from the final state.
		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "go", "two"))
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, "done", res)
		stage, err := client.QueryWorkflow[string](ctx, e.c, inst, "stage")
		require.NoError(t, err)
		assert.Equal(t, "done", stage)
		n, err := client.QueryWorkflow[int](ctx, e.c, inst, "plus", 0)
		require.NoError(t, err)
		assert.Equal(t, 2, n)

		// Unknown instance.
		_, err = client.QueryWorkflow[string](ctx, e.c, &workflow.Instance{InstanceID: "no-such-instance"}, "stage")
		require.ErrorIs(t, err, client.ErrInstanceNotFound)

		// No worker serving the queue.
		e.cancel()
		_, err = client.QueryWorkflow[string](ctx, e.c, inst, "stage")
		require.Error(t, err)
		assert.True(t, errors.Is(err, streams.ErrNoQueryResponder), fmt.Sprint(err))
		assert.Contains(t, err.Error(), "is a worker of that queue running?")
	})
}
