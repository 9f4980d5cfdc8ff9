package workflow_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func TestSideEffectRunsOnceAcrossReplays(t *testing.T) {
	calls := 0
	wf := func(ctx workflow.Context) (int, error) {
		v, err := workflow.SideEffect(ctx, func(workflow.Context) int {
			calls++
			return 100 + calls
		}).Get(ctx)
		if err != nil {
			return 0, err
		}
		workflow.Sleep(ctx, 1)
		return v, nil
	}
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
	out := r.Do(r.Started("wf"))
	require.Equal(t, []history.Kind{history.WorkflowStarted, history.SideEffectRecorded, history.TimerScheduled}, enginetest.Kinds(out))
	r.Do(r.TimerFired(out[2].ID))
	assert.Equal(t, 101, enginetest.Result[int](r))
	for range 3 {
		r.ReplayCheck() // replays return the recorded 101 without calling fn
	}
	assert.Equal(t, 1, calls)
}

func TestSideEffectEncodeFailureIsRecordedAndReplayed(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (string, error) {
		_, err := workflow.SideEffect(ctx, func(workflow.Context) chan int { return make(chan int) }).Get(ctx)
		return errString(err), nil
	})
	got := enginetest.Result[string](r)
	assert.Contains(t, got, "workflow.SideEffect: encode result")
	r.ReplayCheck()
}
