package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// progress is what resumable activities record.
type progress struct {
	Done int
	Note string
}

// resumeAfterFailure records progress and fails on its first attempt; the
// second reports what it found.
func resumeAfterFailure(ctx context.Context) (string, error) {
	p, ok := activity.HeartbeatDetails[progress](ctx)
	if activity.Attempt(ctx) == 1 {
		if ok {
			return "", workflow.NewPermanentError(errors.New("the first attempt found details"))
		}
		activity.RecordHeartbeat(ctx, progress{Done: 1, Note: "one"})
		activity.RecordHeartbeat(ctx) // no details: keeps the last
		activity.RecordHeartbeat(ctx, progress{Done: 2, Note: "two"})
		return "", errors.New("failing after two items")
	}
	return fmt.Sprintf("attempt %d: %v %+v", activity.Attempt(ctx), ok, p), nil
}

// noDetails never records details.
func noDetails(ctx context.Context) (string, error) {
	p, ok := activity.HeartbeatDetails[progress](ctx)
	if activity.Attempt(ctx) == 1 {
		activity.RecordHeartbeat(ctx)
		return "", errors.New("retry me")
	}
	return fmt.Sprintf("attempt %d: %v %+v", activity.Attempt(ctx), ok, p), nil
}

var retryFast = workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 3, FirstRetryInterval: 10 * time.Millisecond}}

func detailsWorkflow(ctx workflow.Context, which string) (string, error) {
	if which == "none" {
		return workflow.ExecuteActivity[string](ctx, retryFast, noDetails).Get(ctx)
	}
	return workflow.ExecuteActivity[string](ctx, retryFast, resumeAfterFailure).Get(ctx)
}

func TestHeartbeatDetailsReachTheNextAttempt(t *testing.T) {
	e := newTestEnv(t, nil, func(w *Worker) {
		require.NoError(t, w.RegisterWorkflow(detailsWorkflow))
		require.NoError(t, w.RegisterActivity(resumeAfterFailure))
		require.NoError(t, w.RegisterActivity(noDetails))
	})
	for _, tc := range []struct{ which, want string }{
		{"details", "attempt 2: true {Done:2 Note:two}"},
		{"none", "attempt 2: false {Done:0 Note:}"},
	} {
		inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, detailsWorkflow, tc.which)
		require.NoError(t, err)
		got, err := client.GetWorkflowResult[string](e.ctx, e.c, inst, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
		// The activity ended: its details go. The worker removes them
		// after reporting the outcome, so the result can come first.
		ref := streams.ActivityRef{InstanceID: inst.InstanceID, ExecutionID: inst.ExecutionID, ScheduleID: 2}
		testenv.WaitFor(t, 10*time.Second, "the details to be removed", func() bool {
			_, ok, err := e.b.HeartbeatDetails(e.ctx, ref)
			require.NoError(t, err)
			return !ok
		})
	}
}

// crashRelease ends the first attempt of resumeAfterCrash (the test's
// cleanup; its worker is gone by then).
var crashRelease = make(chan struct{})

// resumeAfterCrash records progress and hangs on its first attempt; the
// next reports what it found.
func resumeAfterCrash(ctx context.Context) (string, error) {
	p, ok := activity.HeartbeatDetails[progress](ctx)
	if activity.Attempt(ctx) == 1 {
		activity.RecordHeartbeat(ctx, progress{Done: 7, Note: "before the crash"})
		select {
		case <-crashRelease:
		case <-ctx.Done():
		}
		return "", errors.New("the crashed attempt ended")
	}
	return fmt.Sprintf("attempt %d: %v %+v", activity.Attempt(ctx), ok, p), nil
}

func crashWorkflow(ctx workflow.Context) (string, error) {
	return workflow.ExecuteActivity[string](ctx, retryFast, resumeAfterCrash).Get(ctx)
}

// TestHeartbeatDetailsSurviveAWorkerCrash cuts the connection of the worker
// running an attempt that recorded details; a second worker takes the task
// over once the lease runs out and reads them.
func TestHeartbeatDetailsSurviveAWorkerCrash(t *testing.T) {
	srv := testenv.Server(t)
	register := func(w *Worker) {
		require.NoError(t, w.RegisterWorkflow(crashWorkflow))
		require.NoError(t, w.RegisterActivity(resumeAfterCrash))
	}
	connect := func() *streams.Backend {
		return testenv.Backend(t, testenv.Conn(t, srv), streams.WithAckWait(time.Second))
	}
	first := startTestWorker(t, connect(), nil, register)
	release := make(chan struct{})
	crashRelease = release
	t.Cleanup(func() { close(release) }) // before the first worker stops
	inst, err := first.c.CreateWorkflowInstance(first.ctx, client.WorkflowInstanceOptions{}, crashWorkflow)
	require.NoError(t, err)
	ref := streams.ActivityRef{InstanceID: inst.InstanceID, ExecutionID: inst.ExecutionID, ScheduleID: 2}
	require.Eventually(t, func() bool {
		_, ok, err := first.b.HeartbeatDetails(first.ctx, ref)
		return err == nil && ok
	}, 10*time.Second, 10*time.Millisecond, "the first attempt's details were never stored")

	first.b.Conn().Close() // the first worker is cut off, its attempt still running
	second := startTestWorker(t, connect(), nil, register)
	got, err := client.GetWorkflowResult[string](second.ctx, second.c, inst, 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, "attempt 2: true {Done:7 Note:before the crash}", got)
}
