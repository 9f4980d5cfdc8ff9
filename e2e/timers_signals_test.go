package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// TimersWorkflow sleeps, cancels a timer before it fires (twice), and lets a
// short timer race a cancel.
func TimersWorkflow(ctx workflow.Context) ([]string, error) {
	var trace []string
	start := workflow.Now(ctx)
	if err := workflow.Sleep(ctx, 300*time.Millisecond); err != nil {
		return nil, err
	}
	trace = append(trace, fmt.Sprintf("slept>=300ms:%v", workflow.Now(ctx).Sub(start) >= 300*time.Millisecond))

	tctx, cancel := workflow.WithCancel(ctx)
	long := workflow.ScheduleTimer(tctx, time.Hour)
	cancel()
	cancel() // twice is harmless
	_, err := long.Get(ctx)
	trace = append(trace, "long: "+errText(err))

	// A timer that may fire before the cancel is committed: either outcome
	// is fine, but exactly one.
	rctx, rcancel := workflow.WithCancel(ctx)
	race := workflow.ScheduleTimer(rctx, time.Millisecond)
	if err := workflow.Sleep(ctx, 300*time.Millisecond); err != nil {
		return nil, err
	}
	rcancel()
	_, err = race.Get(ctx)
	trace = append(trace, "race settled: "+fmt.Sprint(race.Ready()))
	_ = err
	return trace, nil
}

func errText(err error) string {
	switch {
	case err == nil:
		return "fired"
	case errors.Is(err, workflow.Canceled):
		return "canceled"
	default:
		return err.Error()
	}
}

func TestTimers(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(TimersWorkflow)) })
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, TimersWorkflow)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[[]string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []string{"slept>=300ms:true", "long: canceled", "race settled: true"}, res)
	})
}

// Collect receives n signals and returns them in order; canceled, it ends
// as canceled.
func Collect(ctx workflow.Context, n int) ([]int, error) {
	ch := workflow.NewSignalChannel[int](ctx, "num")
	var got []int
	for len(got) < n {
		workflow.Select(ctx,
			workflow.Receive(ch, func(ctx workflow.Context, v int, ok bool) { got = append(got, v) }),
			workflow.Receive(ctx.Done(), func(workflow.Context, struct{}, bool) {}),
		)
		if ctx.Err() != nil {
			return got, ctx.Err()
		}
	}
	return got, nil
}

func TestSignalsBeforeAndDuringTheWait(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(Collect)) })
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "collector"}, Collect, 4)
		require.NoError(t, err)
		// Sent right after the start: they may reach the worker with it.
		require.NoError(t, e.c.SignalWorkflow(ctx, "collector", "num", 1))
		require.NoError(t, e.c.SignalWorkflow(ctx, "collector", "num", 2))
		// Sent once the workflow is waiting.
		waitFor(t, 10*time.Second, "the workflow to wait", func() bool {
			h, err := e.b.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
			return err == nil && len(h.Commits) > 0
		})
		require.NoError(t, e.c.SignalWorkflow(ctx, "collector", "num", 3))
		require.NoError(t, e.c.SignalWorkflow(ctx, "collector", "num", 4))
		res, err := client.GetWorkflowResult[[]int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2, 3, 4}, res)
	})
}

func TestSignalBurstExactlyOnce(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(Collect)) })
		ctx := ctxFor(t)
		const n = 1000
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "burst"}, Collect, n)
		require.NoError(t, err)
		for i := 0; i < n; i++ {
			require.NoError(t, e.c.SignalWorkflow(ctx, "burst", "num", i))
		}
		res, err := client.GetWorkflowResult[[]int](ctx, e.c, inst, 60*time.Second)
		require.NoError(t, err)
		require.Len(t, res, n)
		for i, v := range res {
			require.Equal(t, i, v, "signal %d", i)
		}
	})
}

func TestSignalMissingInstance(t *testing.T) {
	e := newEnv(t, worker.Options{}, func(w *worker.Worker) {})
	err := e.c.SignalWorkflow(ctxFor(t), "nobody", "num", 1)
	require.ErrorIs(t, err, client.ErrInstanceNotFound)
}

// Sender signals another instance, then a missing one.
func Sender(ctx workflow.Context, target string) (string, error) {
	if _, err := workflow.SignalWorkflow(ctx, target, "num", 7).Get(ctx); err != nil {
		return "", err
	}
	_, err := workflow.SignalWorkflow(ctx, "missing-instance", "num", 8).Get(ctx)
	if !errors.Is(err, workflow.ErrInstanceNotFound) {
		return "", fmt.Errorf("signal to a missing instance: %v", err)
	}
	return "sent", nil
}

func TestSignalFromWorkflow(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Collect))
			must(t, w.RegisterWorkflow(Sender))
		})
		ctx := ctxFor(t)
		receiver, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "receiver"}, Collect, 1)
		require.NoError(t, err)
		sender, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Sender, "receiver")
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[string](ctx, e.c, sender, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "sent", res)
		got, err := client.GetWorkflowResult[[]int](ctx, e.c, receiver, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{7}, got)
	})
}

// Deadline waits for a signal or a day, whichever comes first.
func Deadline(ctx workflow.Context) (string, error) {
	ch := workflow.NewSignalChannel[string](ctx, "go")
	got := "timed out"
	workflow.Select(ctx,
		workflow.Receive(ch, func(_ workflow.Context, v string, _ bool) { got = v }),
		workflow.Await(workflow.ScheduleTimer(ctx, 24*time.Hour), func(workflow.Context, workflow.Future[struct{}]) {}),
	)
	return got, nil
}

// A run that ends while a timer of its waits leaves no schedule behind in
// the task stream (the worker skips that purge only for runs without one).
func TestRunEndRemovesItsPendingTimers(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(Deadline)) })
		ctx := ctxFor(t)
		tasks, err := e.b.JetStream().Stream(ctx, "WF_"+e.b.Namespace()+"_TASKS")
		require.NoError(t, err)
		schedules := func() uint64 {
			info, err := tasks.Info(ctx, jetstream.WithSubjectFilter("wft."+e.b.Namespace()+".s.>"))
			require.NoError(t, err)
			return info.State.Msgs
		}
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "deadline"}, Deadline)
		require.NoError(t, err)
		waitFor(t, 10*time.Second, "the timer's schedule", func() bool { return schedules() == 1 })
		require.NoError(t, e.c.SignalWorkflow(ctx, "deadline", "go", "signaled"))
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "signaled", res)
		waitFor(t, 10*time.Second, "the schedule to be purged", func() bool { return schedules() == 0 })
	})
}

// AwaitOneSignal waits on a signal channel alone: no Select on ctx.Done().
func AwaitOneSignal(ctx workflow.Context) (int, error) {
	v, ok := workflow.NewSignalChannel[int](ctx, "num").Receive(ctx)
	if !ok {
		return 0, ctx.Err()
	}
	return v, nil
}

// A cancel ends a wait in Channel.Receive: the run finishes as canceled
// instead of waiting for ever.
func TestCancelWhileInReceive(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(AwaitOneSignal)) })
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "receiver"}, AwaitOneSignal)
		require.NoError(t, err)
		waitFor(t, 10*time.Second, "the workflow to wait", func() bool {
			h, err := e.b.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
			return err == nil && len(h.Commits) > 0
		})
		require.NoError(t, e.c.CancelWorkflowInstance(ctx, inst))
		_, err = client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.ErrorIs(t, err, client.ErrWorkflowCanceled)
	})
}
