package workflow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// The workflow of API.md, written exactly against the contract: it must
// compile and run.

func Activity1(ctx context.Context, a, b int) (int, error) { return a + b, nil }

type APIActivities struct{}

func (a *APIActivities) Activity2(ctx context.Context, n int) (int, error) { return n, nil }

func SubWorkflow(ctx workflow.Context, in string) (int, error) { return len(in), nil }

func Workflow1(ctx workflow.Context, input string) (int, error) {
	opts := workflow.DefaultActivityOptions
	r1, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Activity1, 35, 12).Get(ctx)
	var a *APIActivities
	r2, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, a.Activity2, 1).Get(ctx)
	r3, err := workflow.ExecuteActivity[string](ctx, opts, "ActivityByName", 1).Get(ctx)

	_, err = workflow.ScheduleTimer(ctx, 2*time.Second).Get(ctx)
	err = workflow.Sleep(ctx, time.Second)

	ch := workflow.NewSignalChannel[string](ctx, "signal-name")
	v, ok := ch.Receive(ctx)

	f1 := workflow.ExecuteActivity[int](ctx, opts, Activity1, 1, 2)
	workflow.Select(ctx,
		workflow.Await(f1, func(ctx workflow.Context, f workflow.Future[int]) { r, err := f.Get(ctx); _, _ = r, err }),
		workflow.Receive(ch, func(ctx workflow.Context, v string, ok bool) {}),
		workflow.Default(func(ctx workflow.Context) {}),
	)

	id, err := workflow.SideEffect[string](ctx, func(ctx workflow.Context) string { return "uuid" }).Get(ctx)
	r, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "child-1"}, SubWorkflow, "in").Get(ctx)
	_, err = workflow.SignalWorkflow(ctx, "other-instance", "name", "value").Get(ctx)

	workflow.Go(ctx, func(ctx workflow.Context) { /* a deterministic goroutine */ })
	c := workflow.NewChannel[int](ctx) // also NewBufferedChannel[T](ctx, n)
	wg := workflow.NewWaitGroup(ctx)   // Add, Done, Wait(ctx)

	tctx, cancel := workflow.WithCancel(ctx) // cancel timers, activities, children
	if errors.Is(ctx.Err(), workflow.Canceled) {
		dctx := workflow.NewDisconnectedContext(ctx) // for cleanup after a cancel
		_ = dctx
	}

	now := workflow.Now(ctx)
	workflow.Logger(ctx).Info("…") // *slog.Logger with instance/execution IDs
	info := workflow.GetInfo(ctx)  // InstanceID, ExecutionID, ContinuedExecutionID, WorkflowName, Queue, HistoryLength
	replaying := workflow.Replaying(ctx)

	ver := workflow.GetVersion(ctx, "change-id", workflow.DefaultVersion, 2) // int; DefaultVersion = -1
	state := "running"
	err = workflow.SetQueryHandler(ctx, "status", func() (string, error) { return state, nil })

	_, _, _, _, _, _, _, _, _, _, _, _, _ = r1, r2, r3, v, ok, id, r, c, wg, tctx, now, replaying, ver
	_, _ = info.ContinuedExecutionID, info.HistoryLength
	cancel()
	if err != nil {
		return 0, err
	}
	return 0, workflow.ContinueAsNew(ctx, "next-input") // returned as the workflow's error
}

func TestAPIContractWorkflowRuns(t *testing.T) {
	r := enginetest.New(t, engine.Options{}, Workflow1)
	r.Do(r.Started("Workflow1", "input"))
	answer := func(kind history.Kind, name string, result any) {
		t.Helper()
		ev := r.Last(kind, name)
		switch kind {
		case history.ActivityScheduled:
			r.Do(r.ActivityCompleted(ev.ID, result))
		case history.TimerScheduled:
			r.Do(r.TimerFired(ev.ID))
		case history.SubWorkflowScheduled:
			r.Do(r.SubCompleted(ev.ID, result))
		case history.SignalWorkflowScheduled:
			r.Do(r.SignalDelivered(ev.ID, nil))
		}
	}
	answer(history.ActivityScheduled, "Activity1", 47)
	answer(history.ActivityScheduled, "Activity2", 1)
	answer(history.ActivityScheduled, "ActivityByName", "x")
	answer(history.TimerScheduled, "", nil)
	answer(history.TimerScheduled, "", nil)
	r.Do(r.Signal("signal-name", "hi"))
	answer(history.SubWorkflowScheduled, "SubWorkflow", 2)
	answer(history.SignalWorkflowScheduled, "name", nil)
	final := r.Final()
	assert.Equal(t, history.WorkflowContinuedAsNew, final.Kind, enginetest.Format(r.History()))
	r.ReplayCheck()
}
