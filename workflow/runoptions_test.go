package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func TestSubWorkflowRunOptionsAreRecorded(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) error {
		workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{InstanceID: "plain"}, "Child")
		workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{
			InstanceID: "bounded", ExecutionTimeout: time.Hour, RunTimeout: time.Minute,
			RetryOptions: &workflow.RetryOptions{MaxAttempts: 3},
		}, "Child")
		return workflow.Sleep(ctx, time.Hour)
	})
	var subs []history.Event
	for _, ev := range r.History() {
		if ev.Kind == history.SubWorkflowScheduled {
			subs = append(subs, ev)
		}
	}
	require.Len(t, subs, 2)
	assert.Nil(t, subs[0].Run, "no options: nothing stored")
	assert.Equal(t, &history.RunOptions{ExecutionTimeout: time.Hour, RunTimeout: time.Minute,
		Retry: &history.ActivityOptions{MaxAttempts: 3, FirstRetryInterval: time.Second, BackoffCoefficient: 2, MaxRetryInterval: 100 * time.Second},
	}, subs[1].Run, "the retry policy with its defaults")
}

func TestWorkflowTimeoutFiredFailsTheRun(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) error { return workflow.Sleep(ctx, time.Hour) })
	f := &history.Failure{Type: workflow.ErrTypeTimeout, Message: "run timeout"}
	r.Do(r.TimeoutFired(f))
	final := r.Final()
	require.Equal(t, history.WorkflowFailed, final.Kind)
	assert.Equal(t, f, final.Failure)
	r.ReplayCheck()
}

func TestDelayedStartSetsTheRunsClock(t *testing.T) {
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": func(ctx workflow.Context) (time.Time, error) {
		return workflow.Now(ctx), nil
	}})
	start := r.Started("wf")
	start.Run = &history.RunOptions{StartDelay: time.Hour}
	r.Do(start)
	assert.True(t, enginetest.Epoch.Add(time.Hour).Equal(enginetest.Result[time.Time](r)), "the clock starts an hour later")
	r.ReplayCheck()
}
