package tester_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// counter takes "add" updates (positive only) that wait a minute each,
// until a "stop" signal; then it waits for its handlers and returns.
func counter(ctx workflow.Context) (int, error) {
	n := 0
	err := workflow.SetUpdateHandlerWithOptions(ctx, "add", func(ctx workflow.Context, by int) (int, error) {
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return 0, err
		}
		if by == 13 {
			return 0, workflow.NewError("Unlucky", "not 13")
		}
		n += by
		return n, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, by int) error {
		if by <= 0 {
			return fmt.Errorf("%d is not positive", by)
		}
		return nil
	}})
	if err != nil {
		return 0, err
	}
	workflow.NewSignalChannel[struct{}](ctx, "stop").Receive(ctx)
	if err := workflow.AwaitAllHandlersFinished(ctx); err != nil {
		return 0, err
	}
	return n, nil
}

func TestUpdateWorkflow(t *testing.T) {
	tst := tester.NewWorkflowTester[int](counter, tester.WithTB(t))
	var ok, again, rejected, unknown, unlucky *tester.Update
	tst.ScheduleCallback(time.Second, func() {
		ok = tst.UpdateWorkflow("add", 2)
		again = tst.UpdateWorkflow("add", 3)
		rejected = tst.UpdateWorkflow("add", -1)
		unknown = tst.UpdateWorkflow("sub", 1)
		unlucky = tst.UpdateWorkflow("add", 13)
	})
	tst.ScheduleCallback(2*time.Second, func() {
		assert.False(t, ok.Done(), "the handler sleeps a minute")
		require.ErrorIs(t, rejected.Err(), tester.ErrUpdateRejected)
		assert.Contains(t, rejected.Err().Error(), "-1 is not positive")
		require.ErrorIs(t, unknown.Err(), tester.ErrUpdateRejected)
		tst.SignalWorkflow("stop", struct{}{})
	})
	tst.Execute()
	require.True(t, tst.WorkflowFinished())
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, 5, res, "the workflow waited for its handlers")

	got, err := tester.UpdateResult[int](ok)
	require.NoError(t, err)
	assert.Equal(t, 2, got)
	got, err = tester.UpdateResult[int](again)
	require.NoError(t, err)
	assert.Equal(t, 5, got)
	var we *workflow.Error
	require.ErrorAs(t, unlucky.Err(), &we)
	assert.Equal(t, "Unlucky", we.Type)
}
