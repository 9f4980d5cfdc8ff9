package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func Child(ctx workflow.Context, n int) (int, error) {
	if n < 0 {
		return 0, workflow.NewError("Negative", fmt.Sprintf("child got %d", n))
	}
	return n * 2, nil
}

// Parent runs a child that succeeds, one that fails, and one whose ID is
// taken by a running instance.
func Parent(ctx workflow.Context, taken string) ([]string, error) {
	var out []string
	v, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "child-ok"}, Child, 21).Get(ctx)
	out = append(out, fmt.Sprint(v, err))
	_, err = workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, Child, -1).Get(ctx)
	var werr *workflow.Error
	out = append(out, fmt.Sprint(errors.As(err, &werr) && werr.Type == "Negative", err))
	_, err = workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: taken}, Child, 1).Get(ctx)
	out = append(out, fmt.Sprint("taken: ", errors.Is(err, workflow.ErrInstanceAlreadyExists)))
	return out, nil
}

func TestSubWorkflows(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Parent))
			must(t, w.RegisterWorkflow(Child))
			must(t, w.RegisterWorkflow(Collect))
		})
		ctx := ctxFor(t)
		_, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "busy"}, Collect, 1)
		require.NoError(t, err)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Parent, "busy")
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[[]string](ctx, e.c, inst, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []string{"42 <nil>", "true child got -1", "taken: true"}, res)
		// The child is an instance of its own, with its parent recorded.
		child, err := client.GetWorkflowResult[int](ctx, e.c, &workflow.Instance{InstanceID: "child-ok"}, time.Second)
		require.NoError(t, err)
		assert.Equal(t, 42, child)
	})
}

var cleanups atomic.Int64

func Cleanup(ctx context.Context, what string) error {
	cleanups.Add(1)
	return nil
}

// Waiter waits for a signal that never comes, in a child that waits too;
// canceled, it runs a cleanup activity in a disconnected context.
func Waiter(ctx workflow.Context, withChild bool) (string, error) {
	var child workflow.Future[[]int]
	if withChild {
		child = workflow.CreateSubWorkflowInstance[[]int](ctx, workflow.SubWorkflowOptions{InstanceID: workflow.GetInfo(ctx).InstanceID + "-child"}, Collect, 1)
	}
	ch := workflow.NewSignalChannel[int](ctx, "never")
	workflow.Select(ctx,
		workflow.Receive(ch, func(workflow.Context, int, bool) {}),
		workflow.Receive(ctx.Done(), func(workflow.Context, struct{}, bool) {}),
	)
	if !errors.Is(ctx.Err(), workflow.Canceled) {
		return "", errors.New("woke up without a cancel")
	}
	dctx := workflow.NewDisconnectedContext(ctx)
	if _, err := workflow.ExecuteActivity[struct{}](dctx, workflow.DefaultActivityOptions, Cleanup, "after cancel").Get(dctx); err != nil {
		return "", err
	}
	if child != nil {
		if _, err := child.Get(dctx); !errors.Is(err, workflow.Canceled) {
			return "", fmt.Errorf("child ended with %v, want canceled", err)
		}
	}
	return "", workflow.Canceled
}

func TestCancelWithCleanup(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Waiter))
			must(t, w.RegisterWorkflow(Collect))
			must(t, w.RegisterActivity(Cleanup))
		})
		ctx := ctxFor(t)
		before := cleanups.Load()
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: uniqueID("waiter")}, Waiter, true)
		require.NoError(t, err)
		waitFor(t, 10*time.Second, "the child to start", func() bool {
			_, err := e.b.GetInstance(ctx, inst.InstanceID+"-child")
			return err == nil
		})
		require.NoError(t, e.c.CancelWorkflowInstance(ctx, inst))
		_, err = client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		if !errors.Is(err, client.ErrWorkflowCanceled) {
			e.dumpHistory(t, inst.InstanceID)
			e.dumpHistory(t, inst.InstanceID+"-child")
		}
		require.ErrorIs(t, err, client.ErrWorkflowCanceled)
		assert.Equal(t, before+1, cleanups.Load(), "the cleanup activity ran once")
		_, err = client.GetWorkflowResult[[]int](ctx, e.c, &workflow.Instance{InstanceID: inst.InstanceID + "-child"}, 10*time.Second)
		require.ErrorIs(t, err, client.ErrWorkflowCanceled, "the cancel reached the child")
	})
}

func TestTerminate(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(Collect)) })
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Collect, 5)
		require.NoError(t, err)
		require.NoError(t, e.c.TerminateWorkflowInstance(ctx, inst, "operator said so"))
		_, err = client.GetWorkflowResult[[]int](ctx, e.c, inst, 20*time.Second)
		require.ErrorIs(t, err, client.ErrWorkflowTerminated)
		assert.Contains(t, err.Error(), "operator said so")
	})
}

// CancelsChildAtOnce starts a child and cancels its context in the same
// task, then runs another child to its end.
func CancelsChildAtOnce(ctx workflow.Context) (string, error) {
	cctx, cancel := workflow.WithCancel(ctx)
	f := workflow.CreateSubWorkflowInstance[int](cctx, workflow.SubWorkflowOptions{InstanceID: "never-started"}, Child, 1)
	cancel()
	_, err := f.Get(ctx)
	v, err2 := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "started-after"}, Child, 2).Get(ctx)
	return fmt.Sprint(err, " ", v, " ", err2), nil
}

// A child canceled in the task that created it is never started: its
// instance ID stays free, and the parent's history does not mention it.
func TestChildCanceledInItsTaskNeverStarts(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(CancelsChildAtOnce))
			must(t, w.RegisterWorkflow(Child))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, CancelsChildAtOnce)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "canceled 4 <nil>", res)

		// The later child's start was published after the first child's
		// would have been: it is there, the first is not.
		_, err = e.c.DescribeWorkflowInstance(ctx, "started-after")
		require.NoError(t, err)
		_, err = e.c.DescribeWorkflowInstance(ctx, "never-started")
		require.ErrorIs(t, err, client.ErrInstanceNotFound, "the canceled child was started")
		h, err := e.c.GetWorkflowHistory(ctx, inst)
		require.NoError(t, err)
		for _, ev := range h.Events {
			assert.NotEqual(t, "never-started", ev.InstanceID, "the history records the canceled child: %v", ev.Kind)
		}
		// Its ID is free for a start of its own.
		_, err = e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "never-started"}, Child, 3)
		require.NoError(t, err)
	})
}
