package engine_test

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

// pendingWork starts one of each cancelable command under ctx and records,
// in tr, when each future resolves and how.
func pendingWork(ctx workflow.Context, tr *[]string) workflow.WaitGroup {
	wg := workflow.NewWaitGroup(ctx)
	watch := func(name string, get func(workflow.Context) error) {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			*tr = append(*tr, name+": "+errString(get(ctx)))
		})
	}
	timer := workflow.ScheduleTimer(ctx, time.Hour)
	quick := workflow.ExecuteActivity[string](ctx, opts, Charge, 1)
	waitOpts := opts
	waitOpts.WaitForCancellation = true
	patient := workflow.ExecuteActivity[string](ctx, waitOpts, Charge, 2)
	child := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "child"}, "Child")
	waitingChild := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "child2", WaitForCancellation: true}, "Child")
	watch("timer", func(ctx workflow.Context) error { _, err := timer.Get(ctx); return err })
	watch("activity", func(ctx workflow.Context) error { _, err := quick.Get(ctx); return err })
	watch("waiting activity", func(ctx workflow.Context) error { _, err := patient.Get(ctx); return err })
	watch("child", func(ctx workflow.Context) error { _, err := child.Get(ctx); return err })
	watch("waiting child", func(ctx workflow.Context) error { _, err := waitingChild.Get(ctx); return err })
	return wg
}

func TestCancelRequestCancelsPendingWork(t *testing.T) {
	var tr []string
	wf := func(ctx workflow.Context) ([]string, error) {
		wg := pendingWork(ctx, &tr)
		wg.Wait(ctx)
		tr = append(tr, "after wait: "+errString(ctx.Err()))
		// Work started on the canceled context fails at once and
		// schedules nothing.
		_, err := workflow.ExecuteActivity[string](ctx, opts, Charge, 3).Get(ctx)
		tr = append(tr, "new activity: "+errString(err))
		tr = append(tr, "new timer: "+errString(workflow.Sleep(ctx, time.Second)))
		_, err = workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, "Child").Get(ctx)
		tr = append(tr, "new child: "+errString(err))
		_, err = workflow.SignalWorkflow(ctx, "x", "s", 1).Get(ctx)
		tr = append(tr, "new signal: "+errString(err))
		// A disconnected context still schedules cleanup.
		dctx := workflow.NewDisconnectedContext(ctx)
		_, err = workflow.ExecuteActivity[struct{}](dctx, opts, Refund, "rc").Get(dctx)
		tr = append(tr, "cleanup: "+errString(err))
		return tr, ctx.Err()
	}
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
	started := r.Do(r.Started("wf"))
	require.Equal(t, []history.Kind{history.WorkflowStarted, history.TimerScheduled, history.ActivityScheduled,
		history.ActivityScheduled, history.SubWorkflowScheduled, history.SubWorkflowScheduled}, enginetest.Kinds(started))
	timer, quick, patient, child, waitingChild := started[1].ID, started[2].ID, started[3].ID, started[4].ID, started[5].ID

	out := r.Do(r.CancelRequested())
	assert.Equal(t, []history.Event{
		{Kind: history.CancelRequested, ID: 7},
		{Kind: history.TimerCanceled, ID: 8, ScheduleID: timer},
		{Kind: history.ActivityCancelRequested, ID: 9, ScheduleID: quick, Name: "Charge"},
		{Kind: history.ActivityCancelRequested, ID: 10, ScheduleID: patient, Name: "Charge"},
		{Kind: history.SubWorkflowCancelRequested, ID: 11, ScheduleID: child, Name: "Child", InstanceID: "child"},
		{Kind: history.SubWorkflowCancelRequested, ID: 12, ScheduleID: waitingChild, Name: "Child", InstanceID: "child2"},
	}, stripped(out))
	assert.Equal(t, []string{"timer: canceled", "activity: canceled", "child: canceled"}, tr,
		"futures that do not wait resolve at once")
	pending := r.Ex.Pending()
	require.Len(t, pending, 2)
	assert.Equal(t, engine.PendingCommand{Event: started[3], CancelRequested: true}, pending[0])

	// The canceled activity's late answer is dropped; the waiting ones
	// resolve with what their activity and child report.
	out = r.Do(
		r.ActivityCompleted(quick, "late"),
		r.ActivityFailed(patient, workflow.Canceled),
		r.SubFailed(waitingChild, engine.FailureFromError(workflow.Canceled)),
	)
	assert.Equal(t, []history.Kind{history.ActivityFailed, history.SubWorkflowFailed, history.ActivityScheduled}, enginetest.Kinds(out))
	cleanup := out[2]
	assert.Equal(t, "Refund", cleanup.Name)
	r.Do(r.ActivityCompleted(cleanup.ID, nil))
	assert.Equal(t, history.WorkflowCanceled, r.Final().Kind)
	assert.Equal(t, []string{
		"timer: canceled", "activity: canceled", "child: canceled",
		"waiting activity: canceled", "waiting child: canceled",
		"after wait: canceled",
		"new activity: canceled", "new timer: canceled", "new child: canceled", "new signal: canceled",
		"cleanup: ok",
	}, tr)
	tr = nil
	r.ReplayCheck()
}

func TestWithCancelCancelsOnlyItsOwnWork(t *testing.T) {
	wf := func(ctx workflow.Context) (string, error) {
		cctx, cancel := workflow.WithCancel(ctx)
		inner := workflow.ScheduleTimer(cctx, time.Minute)
		outer := workflow.ScheduleTimer(ctx, time.Minute)
		act := workflow.ExecuteActivity[string](cctx, opts, Charge, 1)
		cancel()
		cancel()
		_, err1 := inner.Get(ctx)
		_, err2 := act.Get(ctx)
		_, err3 := outer.Get(ctx)
		return errString(err1) + " " + errString(err2) + " " + errString(err3), nil
	}
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
	out := r.Do(r.Started("wf"))
	// The inner timer (2) and the activity (4) are canceled in the task
	// that issued them: they are dropped, and their IDs stay taken.
	assert.Equal(t, []history.Kind{history.WorkflowStarted, history.TimerScheduled}, enginetest.Kinds(out))
	assert.Equal(t, int64(3), out[1].ID)
	r.Do(r.TimerFired(out[1].ID))
	assert.Equal(t, "canceled canceled ok", enginetest.Result[string](r))
	r.ReplayCheck()
}

func TestWorkflowThatIgnoresCancellationCompletes(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (string, error) {
		// A Receive under ctx would end at the cancel; a disconnected
		// context waits regardless.
		workflow.NewSignalChannel[int](ctx, "s").Receive(workflow.NewDisconnectedContext(ctx))
		return "done anyway", nil
	})
	r.Do(r.CancelRequested(), r.CancelRequested())
	r.Do(r.Signal("s", 1))
	assert.Equal(t, "done anyway", enginetest.Result[string](r))
}

func TestTerminate(t *testing.T) {
	var deferred bool
	r := enginetest.Start(t, func(ctx workflow.Context) error {
		defer func() { deferred = true }()
		return workflow.Sleep(ctx, time.Hour)
	})
	out := r.Do(r.TerminateRequested("operator said so"))
	assert.Equal(t, []history.Event{
		{Kind: history.TerminateRequested, ID: 3, Reason: "operator said so"},
		{Kind: history.WorkflowTerminated, ID: 4, Reason: "operator said so"},
	}, stripped(out))
	r.ReplayCheck()
	r.Ex.Close()
	assert.True(t, deferred, "Close unwinds the workflow's coroutines")
}

// stripped drops the fields a test does not build by hand.
func stripped(events []history.Event) []history.Event {
	out := make([]history.Event, len(events))
	for i, ev := range events {
		ev.Time, ev.InboxID = time.Time{}, ""
		out[i] = ev
	}
	return out
}
