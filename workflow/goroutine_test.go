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

func TestGoRunsCoroutinesInStartOrder(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		wg := workflow.NewWaitGroup(ctx)
		for i := range 3 {
			wg.Add(1)
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer wg.Done()
				tr.add("start " + itoa(i))
				workflow.Sleep(ctx, time.Duration(3-i)*time.Second)
				tr.add("woke " + itoa(i))
			})
		}
		tr.add("main waits")
		wg.Wait(ctx)
		return tr, nil
	})
	timers := r.History()[1:]
	require.Len(t, timers, 3)
	for _, ev := range timers {
		require.Equal(t, history.TimerScheduled, ev.Kind)
	}
	// Fire the timers shortest first: coroutine 2, then 1, then 0.
	for i := 2; i >= 0; i-- {
		r.Advance(time.Second)
		r.Do(r.TimerFired(timers[i].ID))
	}
	assert.Equal(t, []string{
		"main waits", "start 0", "start 1", "start 2",
		"woke 2", "woke 1", "woke 0",
	}, enginetest.Result[[]string](r))
	r.ReplayCheck()
}

func TestWaitGroupNegativeCounterPanics(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) error {
		workflow.NewWaitGroup(ctx).Done()
		return nil
	})
	assert.Equal(t, "workflow: negative WaitGroup counter", r.Final().Failure.Message)
}
