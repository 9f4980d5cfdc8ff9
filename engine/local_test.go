package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func Lookup(ctx context.Context, key string) (string, error) { return "", nil }
func Audit(ctx context.Context, key string) (string, error)  { return "", nil }

// LocalPair runs two local activities side by side, sleeps, then runs one
// more.
func LocalPair(ctx workflow.Context) (string, error) {
	opts := workflow.LocalActivityOptions{}
	a := workflow.ExecuteLocalActivity[string](ctx, opts, Lookup, "a")
	b := workflow.ExecuteLocalActivity[string](ctx, opts, Lookup, "b")
	ra, err := a.Get(ctx)
	if err != nil {
		return "", err
	}
	rb, err := b.Get(ctx)
	if err != nil {
		return "", err
	}
	if err := workflow.Sleep(ctx, time.Minute); err != nil {
		return "", err
	}
	rc, err := workflow.ExecuteLocalActivity[string](ctx, opts, Lookup, "c").Get(ctx)
	return ra + rb + rc, err
}

// LocalPairChanged is LocalPair's code changed: its first call is another
// activity.
func LocalPairChanged(ctx workflow.Context) (string, error) {
	opts := workflow.LocalActivityOptions{}
	a := workflow.ExecuteLocalActivity[string](ctx, opts, Audit, "a")
	b := workflow.ExecuteLocalActivity[string](ctx, opts, Lookup, "b")
	a.Get(ctx)
	b.Get(ctx)
	return "", workflow.Sleep(ctx, time.Minute)
}

// The outcomes of local activities are recorded in the task that ran them,
// in the order they ended; replay takes them without running anything, and
// a changed call is a non-determinism error.
func TestLocalActivitiesRecordedAndReplayed(t *testing.T) {
	var calls atomic.Int32
	// a ends once the executor has taken b's outcome, which it marks by
	// canceling b's context: b ended first, whatever the scheduling.
	bCtx := make(chan context.Context, 1)
	runner := func(ctx context.Context, task engine.LocalActivityTask) engine.LocalActivityOutcome {
		calls.Add(1)
		var key string
		if err := converter.Default.Decode(task.Args[0], &key); err != nil {
			return engine.LocalActivityOutcome{Err: err, Attempt: 1}
		}
		switch key {
		case "a":
			<-(<-bCtx).Done()
		case "b":
			bCtx <- ctx
		}
		res, _ := converter.Default.Encode(key)
		return engine.LocalActivityOutcome{Result: res, Attempt: 1}
	}
	r := enginetest.New(t, engine.Options{LocalActivities: runner}, LocalPair)
	out := r.Do(r.Started("LocalPair"))
	var kinds []history.Kind
	var seqs []int64
	for _, ev := range out {
		kinds = append(kinds, ev.Kind)
		if ev.Local != nil {
			seqs = append(seqs, ev.Local.Seq)
		}
	}
	assert.Equal(t, []history.Kind{history.WorkflowStarted, history.LocalActivityCompleted,
		history.LocalActivityCompleted, history.TimerScheduled}, kinds, "one commit: the start, both outcomes, the timer")
	assert.Equal(t, []int64{2, 1}, seqs, "b (call 2) ended first")
	timer := r.Last(history.TimerScheduled, "")
	r.Advance(time.Minute)
	r.Do(r.TimerFired(timer.ID))
	assert.Equal(t, "abc", enginetest.Result[string](r))
	require.Equal(t, int32(3), calls.Load())

	r.ReplayCheck()
	assert.Equal(t, int32(3), calls.Load(), "replay runs no local activity")

	err := r.ReplayWith(engine.Workflows{"LocalPair": LocalPairChanged})
	var nd *engine.NondeterminismError
	require.True(t, errors.As(err, &nd), "got %v", err)
	assert.Contains(t, nd.Error(), "Lookup")
}

// LocalCanceled cancels a local activity before the task runs it.
func LocalCanceled(ctx workflow.Context) (string, error) {
	cctx, cancel := workflow.WithCancel(ctx)
	f := workflow.ExecuteLocalActivity[string](cctx, workflow.LocalActivityOptions{}, Lookup, "x")
	cancel()
	_, err := f.Get(ctx)
	if errors.Is(err, workflow.Canceled) {
		return "canceled", nil
	}
	return "", err
}

// A call canceled before it runs is never run nor recorded.
func TestLocalActivityCanceledBeforeItRuns(t *testing.T) {
	var calls atomic.Int32
	r := enginetest.New(t, engine.Options{LocalActivities: func(context.Context, engine.LocalActivityTask) engine.LocalActivityOutcome {
		calls.Add(1)
		return engine.LocalActivityOutcome{Attempt: 1}
	}}, LocalCanceled)
	out := r.Do(r.Started("LocalCanceled"))
	assert.Equal(t, "canceled", enginetest.Result[string](r))
	assert.Zero(t, calls.Load())
	for _, ev := range out {
		assert.NotEqual(t, history.LocalActivityCompleted, ev.Kind)
	}
	r.ReplayCheck()
}
