package workflow_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

type approval struct {
	By    string
	Level int
}

func TestSignalsAreBufferedUntilTheChannelExists(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]approval, error) {
		workflow.Sleep(ctx, 1) // signals arrive while the code waits elsewhere
		c := workflow.NewSignalChannel[approval](ctx, "approve")
		var got []approval
		for range 3 {
			a, _ := c.Receive(ctx)
			got = append(got, a)
		}
		return got, nil
	})
	timer := r.Last(history.TimerScheduled, "")
	r.Do(r.Signal("approve", approval{"ann", 1}), r.Signal("other", "x"), r.Signal("approve", approval{"bob", 2}))
	r.Do(r.TimerFired(timer.ID))
	r.Do(r.Signal("approve", approval{"cy", 3}))
	assert.Equal(t, []approval{{"ann", 1}, {"bob", 2}, {"cy", 3}}, enginetest.Result[[]approval](r))
	r.ReplayCheck()
}

func TestSignalWithUndecodablePayloadIsDropped(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (int, error) {
		v, _ := workflow.NewSignalChannel[int](ctx, "n").Receive(ctx)
		return v, nil
	})
	r.Do(r.Signal("n", "not a number"), r.Signal("n", 42))
	assert.Equal(t, 42, enginetest.Result[int](r))
}

func TestNewSignalChannelTwiceReturnsTheSameChannel(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (string, error) {
		a := workflow.NewSignalChannel[int](ctx, "s")
		b := workflow.NewSignalChannel[int](ctx, "s")
		if a != b {
			return "different", nil
		}
		workflow.NewSignalChannel[string](ctx, "s") // another type: panics
		return "same", nil
	})
	final := r.Final()
	require.Equal(t, history.WorkflowFailed, final.Kind)
	assert.Contains(t, final.Failure.Message, `signal "s" already has a channel of another type`)
}

func TestSignalWorkflow(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		_, err := workflow.SignalWorkflow(ctx, "other", "ping", 7).Get(ctx)
		tr.add("delivered: " + errString(err))
		_, err = workflow.SignalWorkflow(ctx, "missing", "ping", 8).Get(ctx)
		tr.add("not found: " + btoa(errors.Is(err, workflow.ErrInstanceNotFound)) + " " + errString(err))
		return tr, nil
	})
	sent := r.Last(history.SignalWorkflowScheduled, "ping")
	assert.Equal(t, "other", sent.InstanceID)
	assert.Equal(t, 7, enginetest.Decode[int](r, sent.Args[0]))
	r.Do(r.SignalDelivered(sent.ID, nil))
	sent = r.Last(history.SignalWorkflowScheduled, "ping")
	assert.Equal(t, "missing", sent.InstanceID)
	r.Do(r.SignalDelivered(sent.ID, &history.Failure{Type: "InstanceNotFound", Message: `instance "missing" not found`}))
	assert.Equal(t, []string{"delivered: <nil>", `not found: true instance "missing" not found`}, enginetest.Result[[]string](r))
	r.ReplayCheck()
}
