package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func TestNowIsTheTimeOfTheEventBeingProcessed(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]time.Time, error) {
		times := []time.Time{workflow.Now(ctx)}
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return nil, err
		}
		times = append(times, workflow.Now(ctx))
		sig := workflow.NewSignalChannel[int](ctx, "s")
		sig.Receive(ctx)
		times = append(times, workflow.Now(ctx))
		return times, nil
	})
	timer := r.Last(history.TimerScheduled, "")
	assert.Equal(t, enginetest.Epoch.Add(time.Minute), timer.FireAt, "FireAt is Now + d")
	r.Advance(time.Minute + time.Millisecond) // the timer message arrives a little late
	r.Do(r.TimerFired(timer.ID))
	// An event stamped earlier than the last one does not move time back.
	r.Advance(-time.Hour)
	r.Do(r.Signal("s", 1))
	got := enginetest.Result[[]time.Time](r)
	want := []time.Time{enginetest.Epoch, enginetest.Epoch.Add(time.Minute + time.Millisecond), enginetest.Epoch.Add(time.Minute + time.Millisecond)}
	require.Len(t, got, 3)
	for i := range want {
		assert.True(t, want[i].Equal(got[i]), "time %d: got %v, want %v", i, got[i], want[i])
	}
	r.ReplayCheck()
}

func TestScheduleTimerEdgeCases(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		_, err := workflow.ScheduleTimer(ctx, 0).Get(ctx)
		tr.add("zero: " + errString(err))
		_, err = workflow.ScheduleTimer(ctx, -time.Second).Get(ctx)
		tr.add("negative: " + errString(err))
		return tr, nil
	})
	assert.Equal(t, []string{"zero: <nil>", "negative: workflow.ScheduleTimer: negative duration -1s"},
		enginetest.Result[[]string](r))
	assert.Equal(t, []history.Kind{history.WorkflowStarted, history.WorkflowCompleted}, enginetest.Kinds(r.History()),
		"zero and negative timers schedule nothing")
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
