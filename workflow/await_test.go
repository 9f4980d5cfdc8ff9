package workflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// approvals counts "approve" signals in a coroutine of its own, as a
// Temporal user would, and returns the count's address.
func approvals(ctx workflow.Context) *int {
	n := new(int)
	ch := workflow.NewSignalChannel[string](ctx, "approve")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if _, ok := ch.Receive(ctx); !ok {
				return
			}
			*n++
		}
	})
	return n
}

func TestAwaitConditionWaitsForStateChangedByEvents(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (int, error) {
		n := approvals(ctx)
		if err := workflow.AwaitCondition(ctx, func() bool { return *n >= 2 }); err != nil {
			return -1, err
		}
		return *n, nil
	})
	r.Do(r.Signal("approve", "ann"))
	_, done := r.Ex.Final()
	assert.False(t, done, "one approval is not enough")
	r.Do(r.Signal("approve", "bob"))
	assert.Equal(t, 2, enginetest.Result[int](r))
	r.ReplayCheck()
}

func TestAwaitConditionReturnsAtOnceWhenItHolds(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (string, error) {
		return "done", workflow.AwaitCondition(ctx, func() bool { return true })
	})
	assert.Equal(t, "done", enginetest.Result[string](r))
}

func TestAwaitConditionEndsOnCancel(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (bool, error) {
		err := workflow.AwaitCondition(ctx, func() bool { return false })
		return errors.Is(err, workflow.Canceled), nil
	})
	r.Do(r.CancelRequested())
	assert.True(t, enginetest.Result[bool](r))
}

func TestAwaitConditionPanicFailsTheRun(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (int, error) {
		n := approvals(ctx)
		return 0, workflow.AwaitCondition(ctx, func() bool {
			if *n > 0 {
				panic("bad condition")
			}
			return false
		})
	})
	r.Do(r.Signal("approve", "ann")) // the panic happens in the scheduler's check
	final := r.Final()
	require.Equal(t, history.WorkflowFailed, final.Kind)
	assert.Contains(t, final.Failure.Message, "bad condition")
}

func TestAwaitWithTimeout(t *testing.T) {
	wf := func(ctx workflow.Context) (string, error) {
		n := approvals(ctx)
		ok, err := workflow.AwaitWithTimeout(ctx, time.Hour, func() bool { return *n > 0 })
		switch {
		case err != nil:
			return "", err
		case ok:
			return "approved", nil
		}
		return "timed out", nil
	}
	t.Run("condition first cancels the timer", func(t *testing.T) {
		r := enginetest.Start(t, wf)
		timer := r.Last(history.TimerScheduled, "")
		out := r.Do(r.Signal("approve", "ann"))
		assert.Equal(t, "approved", enginetest.Result[string](r))
		assert.Contains(t, enginetest.Kinds(out), history.TimerCanceled)
		assert.Equal(t, timer.ID, r.Last(history.TimerCanceled, "").ScheduleID)
		r.ReplayCheck()
	})
	t.Run("time runs out", func(t *testing.T) {
		r := enginetest.Start(t, wf)
		r.Do(r.TimerFired(r.Last(history.TimerScheduled, "").ID))
		assert.Equal(t, "timed out", enginetest.Result[string](r))
		r.ReplayCheck()
	})
	t.Run("canceled", func(t *testing.T) {
		r := enginetest.Start(t, wf)
		r.Do(r.CancelRequested())
		require.Equal(t, history.WorkflowCanceled, r.Final().Kind)
	})
	t.Run("already true schedules no timer", func(t *testing.T) {
		r := enginetest.Start(t, func(ctx workflow.Context) (bool, error) {
			return workflow.AwaitWithTimeout(ctx, time.Hour, func() bool { return true })
		})
		assert.True(t, enginetest.Result[bool](r))
		assert.NotContains(t, enginetest.Kinds(r.History()), history.TimerScheduled)
	})
}
