package engine_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	. "github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// cartWorkflow takes "add" updates (positive amounts only) until it gets a
// "done" signal, waits for its handlers, and returns the total.
func cartWorkflow(ctx workflow.Context) (int, error) {
	total := 0
	err := workflow.SetUpdateHandlerWithOptions(ctx, "add", func(ctx workflow.Context, n int) (int, error) {
		if n == 13 {
			return 0, workflow.NewError("Unlucky", "13 is not welcome")
		}
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return 0, err
		}
		total += n
		return total, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, n int) error {
		if n <= 0 {
			return fmt.Errorf("amount %d is not positive", n)
		}
		return nil
	}})
	if err != nil {
		return 0, err
	}
	workflow.NewSignalChannel[struct{}](ctx, "done").Receive(ctx)
	if err := workflow.AwaitAllHandlersFinished(ctx); err != nil {
		return 0, err
	}
	return total, nil
}

func answerFor(t *testing.T, answers []engine.UpdateAnswer, id string) engine.UpdateAnswer {
	t.Helper()
	for _, a := range answers {
		if a.UpdateID == id {
			return a
		}
	}
	t.Fatalf("no answer for update %q in %+v", id, answers)
	return engine.UpdateAnswer{}
}

func TestUpdateAcceptRejectComplete(t *testing.T) {
	r := Start(t, cartWorkflow)
	before := len(r.History())

	// Rejections record nothing.
	out := r.Do(r.Update("u0", "add", -1), r.Update("u1", "nope", 1))
	assert.Empty(t, out)
	assert.Len(t, r.History(), before)
	answers := r.Ex.TakeUpdateAnswers()
	assert.Contains(t, answerFor(t, answers, "u0").Rejected, "amount -1 is not positive")
	assert.Contains(t, answerFor(t, answers, "u1").Rejected, `no handler for update "nope"`)

	// An accepted update runs its handler, which waits on a timer; a
	// second request with its ID is not applied again.
	out = r.Do(r.Update("u2", "add", 5), r.Update("u2", "add", 5), r.Update("u3", "add", 13))
	assert.Equal(t, []history.Kind{history.UpdateAccepted, history.TimerScheduled,
		history.UpdateAccepted, history.UpdateCompleted}, Kinds(out))
	assert.Empty(t, r.Ex.TakeUpdateAnswers())
	unlucky := r.Last(history.UpdateCompleted, "add")
	require.NotNil(t, unlucky.Failure)
	assert.Equal(t, "Unlucky", unlucky.Failure.Type)
	assert.Equal(t, "u3", unlucky.UpdateID)
	timer := r.Last(history.TimerScheduled, "")

	// The signal arrives before the handler ends: the workflow waits for it.
	r.Advance(time.Second)
	out = r.Do(r.Signal("done", struct{}{}))
	assert.Equal(t, []history.Kind{history.SignalReceived}, Kinds(out))
	out = r.Do(r.TimerFired(timer.ID))
	assert.Equal(t, []history.Kind{history.TimerFired, history.UpdateCompleted, history.WorkflowCompleted}, Kinds(out))
	assert.Equal(t, 5, Decode[int](r, out[1].Result))
	assert.Equal(t, 5, Result[int](r))

	// After the end: a request for a completed update gets its outcome
	// again, a new one hears the run has finished.
	_, err := r.Execute(r.Update("u2", "add", 5))
	require.ErrorIs(t, err, engine.ErrRunFinished)
	late := r.Ex.LateUpdateAnswers([]history.Event{r.Update("u2", "add", 5), r.Update("u9", "add", 1)})
	again := answerFor(t, late, "u2")
	assert.True(t, again.Completed)
	assert.Equal(t, 5, Decode[int](r, again.Result))
	assert.True(t, answerFor(t, late, "u9").Finished)

	ex := r.ReplayCheck()
	assert.Empty(t, ex.UpdatesRunning())
}

func TestUpdateRunningWhenRunEnds(t *testing.T) {
	wf := func(ctx workflow.Context) (int, error) {
		_ = workflow.SetUpdateHandler(ctx, "slow", func(ctx workflow.Context) error {
			return workflow.Sleep(ctx, time.Hour)
		})
		workflow.NewSignalChannel[struct{}](ctx, "end").Receive(ctx)
		return 1, nil
	}
	r := Start(t, wf)
	r.Do(r.Update("s1", "slow"))
	require.Len(t, r.Ex.UpdatesRunning(), 1)
	r.Do(r.Signal("end", struct{}{}), r.Update("s2", "slow"))
	answers := r.Ex.TakeUpdateAnswers()
	assert.True(t, answerFor(t, answers, "s1").Finished)
	assert.True(t, answerFor(t, answers, "s2").Finished)
}

func TestUpdateReplayNondeterminismNamesTheUpdate(t *testing.T) {
	r := Start(t, cartWorkflow)
	r.Do(r.Update("u1", "add", 2))
	noHandler := func(ctx workflow.Context) (int, error) {
		workflow.NewSignalChannel[struct{}](ctx, "done").Receive(ctx)
		return 0, nil
	}
	err := r.ReplayWith(engine.Workflows{"wf": noHandler})
	var nd *engine.NondeterminismError
	require.True(t, errors.As(err, &nd), "%v", err)
	assert.Contains(t, err.Error(), `"add"`)
	assert.Contains(t, err.Error(), `u1`)

	// A handler that now returns at once records UpdateCompleted where the
	// history has the timer.
	fast := func(ctx workflow.Context) (int, error) {
		_ = workflow.SetUpdateHandler(ctx, "add", func(ctx workflow.Context, n int) (int, error) { return n, nil })
		workflow.NewSignalChannel[struct{}](ctx, "done").Receive(ctx)
		return 0, nil
	}
	err = r.ReplayWith(engine.Workflows{"wf": fast})
	require.True(t, errors.As(err, &nd), "%v", err)
	assert.Contains(t, err.Error(), "add")
}

func TestUpdateValidatorMustNotChangeState(t *testing.T) {
	wf := func(ctx workflow.Context) (int, error) {
		_ = workflow.SetUpdateHandlerWithOptions(ctx, "u", func(ctx workflow.Context) error { return nil },
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context) error {
				return workflow.Sleep(ctx, time.Second)
			}})
		workflow.NewSignalChannel[struct{}](ctx, "end").Receive(ctx)
		return 1, nil
	}
	r := Start(t, wf)
	out := r.Do(r.Update("v1", "u"))
	assert.Empty(t, out)
	assert.Contains(t, answerFor(t, r.Ex.TakeUpdateAnswers(), "v1").Rejected, "validator panicked")
	r.Do(r.Signal("end", struct{}{}))
	assert.Equal(t, 1, Result[int](r))
}

func TestUpdateHandlerPanicFailsTheUpdateOnly(t *testing.T) {
	wf := func(ctx workflow.Context) (int, error) {
		_ = workflow.SetUpdateHandler(ctx, "boom", func(ctx workflow.Context) (int, error) { panic("kaboom") })
		workflow.NewSignalChannel[struct{}](ctx, "end").Receive(ctx)
		return 1, nil
	}
	r := Start(t, wf)
	out := r.Do(r.Update("p1", "boom"))
	require.Equal(t, []history.Kind{history.UpdateAccepted, history.UpdateCompleted}, Kinds(out))
	require.NotNil(t, out[1].Failure)
	assert.Equal(t, workflow.ErrTypePanic, out[1].Failure.Type)
	assert.Contains(t, out[1].Failure.Message, "kaboom")
	r.Do(r.Signal("end", struct{}{}))
	assert.Equal(t, 1, Result[int](r))
	r.ReplayCheck()
}
