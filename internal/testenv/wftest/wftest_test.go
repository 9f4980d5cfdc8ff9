package wftest_test

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

func double(_ context.Context, n int) (int, error) { return 2 * n, nil }

func doubleTwice(ctx workflow.Context, n int) (int, error) {
	n, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, double, n).Get(ctx)
	if err != nil {
		return 0, err
	}
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, double, n).Get(ctx)
}

func register(t *testing.T) func(*worker.Worker) {
	return func(w *worker.Worker) {
		require.NoError(t, w.RegisterWorkflow(doubleTwice))
		require.NoError(t, w.RegisterActivity(double))
	}
}

func TestEnvRunsAWorkflow(t *testing.T) {
	e := wftest.New(t, wftest.Options{Prefix: "wftest", Register: register(t)})
	require.Regexp(t, `^wftest\d+$`, e.Backend.Namespace())
	ctx := testenv.Context(t, time.Minute)
	inst, err := e.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, doubleTwice, 5)
	require.NoError(t, err)
	got, err := client.GetWorkflowResult[int](ctx, e.Client, inst, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, 20, got)

	// Stopping early is allowed, and the end of the test does not stop
	// the worker a second time.
	require.NoError(t, e.StopWorker())
	require.NoError(t, e.StopWorker())
}

func TestEnvOnASharedServer(t *testing.T) {
	srv := testenv.Server(t)
	a := wftest.New(t, wftest.Options{Server: srv, Register: register(t)})
	b := wftest.New(t, wftest.Options{Server: srv, Register: register(t)})
	require.Same(t, srv, a.Server)
	require.Same(t, srv, b.Server)
	require.NotEqual(t, a.Backend.Namespace(), b.Backend.Namespace(), "each Env has a namespace of its own")
}
