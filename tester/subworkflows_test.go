package tester_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func Pack(ctx context.Context, item string) (string, error) { return "box of " + item, nil }

// Packer is a child: it packs an item, after an hour of rest.
func Packer(ctx workflow.Context, item string) (string, error) {
	if item == "" {
		return "", workflow.NewError("Empty", "nothing to pack")
	}
	if err := workflow.Sleep(ctx, time.Hour); err != nil {
		return "", err
	}
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Pack, item).Get(ctx)
}

// Shipment packs its items in parallel children and lists the outcomes.
func Shipment(ctx workflow.Context, items []string) (string, error) {
	futures := make([]workflow.Future[string], len(items))
	for i, it := range items {
		futures[i] = workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, Packer, it)
	}
	var out []string
	for _, f := range futures {
		r, err := f.Get(ctx)
		var werr *workflow.Error
		switch {
		case errors.As(err, &werr):
			r = "failed: " + werr.Type
		case err != nil:
			return "", err
		}
		out = append(out, r)
	}
	return strings.Join(out, "; "), nil
}

func TestSubWorkflows(t *testing.T) {
	t.Run("registered children with mocked activities", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Shipment, tester.WithTB(t), tester.WithStartTime(epoch))
		tst.RegisterWorkflow(Packer)
		tst.OnActivity(Pack, mock.Anything, "cup").Return("cup box", nil)
		tst.OnActivity(Pack, mock.Anything, "pot").Return("pot box", nil)
		tst.Execute([]string{"cup", "", "pot"})
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "cup box; failed: Empty; pot box", res)
		assert.Equal(t, time.Hour, tst.Now().Sub(epoch), "the children slept in parallel")
		tst.AssertExpectations(t)
	})
	t.Run("mocked children", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Shipment, tester.WithTB(t), tester.WithStartTime(epoch))
		tst.OnSubWorkflow(Packer, mock.Anything, "cup").Return("mock cup", nil)
		tst.OnSubWorkflow(Packer, mock.Anything, "pot").Return("", workflow.NewError("Broken", "pot broke"))
		tst.Execute([]string{"cup", "pot"})
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "mock cup; failed: Broken", res)
		assert.Equal(t, time.Duration(0), tst.Now().Sub(epoch))
		tst.AssertExpectations(t)
	})
	t.Run("mocked child running a function", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Shipment, tester.WithTB(t), tester.WithStartTime(epoch))
		tst.OnSubWorkflow(Packer, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, item string) (string, error) {
			if err := workflow.Sleep(ctx, 2*time.Hour); err != nil {
				return "", err
			}
			return "fake " + item, nil
		})
		tst.Execute([]string{"cup"})
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "fake cup", res)
		assert.Equal(t, 2*time.Hour, tst.Now().Sub(epoch))
	})
	t.Run("unexpected", func(t *testing.T) {
		tb := newFakeTB(t)
		tst := tester.NewWorkflowTester[string](Shipment, tester.WithTB(tb))
		tst.Execute([]string{"cup"})
		msg := tb.failure(t)
		assert.Contains(t, msg, `started sub-workflow Packer("cup"), which has no mock (OnSubWorkflow) and is not registered (RegisterWorkflow)`)
		assert.ErrorIs(t, tst.Err(), tester.ErrUnexpectedCall)
	})
}

// Twins starts two children with the same instance ID.
func Twins(ctx workflow.Context) (string, error) {
	opts := workflow.SubWorkflowOptions{InstanceID: "twin"}
	f1 := workflow.CreateSubWorkflowInstance[string](ctx, opts, Packer, "a")
	f2 := workflow.CreateSubWorkflowInstance[string](ctx, opts, Packer, "b")
	r1, err1 := f1.Get(ctx)
	_, err2 := f2.Get(ctx)
	return fmt.Sprintf("%s %v %v", r1, err1, errors.Is(err2, workflow.ErrInstanceAlreadyExists)), nil
}

func TestSubWorkflowInstanceClash(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Twins, tester.WithTB(t))
	tst.RegisterWorkflow(Packer)
	tst.OnActivity(Pack, mock.Anything, "a").Return("box a", nil)
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "box a <nil> true", res)
}

// Waiter is a child that waits for a "go" signal and returns its value,
// or for its cancellation.
func Waiter(ctx workflow.Context) (int, error) {
	var v int
	workflow.Select(ctx,
		workflow.Receive(workflow.NewSignalChannel[int](ctx, "go"), func(_ workflow.Context, got int, _ bool) { v = got }),
		workflow.Receive(ctx.Done(), func(workflow.Context, struct{}, bool) {}),
	)
	return v, ctx.Err()
}

// Nudger starts a Waiter and signals it.
func Nudger(ctx workflow.Context, n int) (int, error) {
	f := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "waiter"}, Waiter)
	if _, err := workflow.SignalWorkflow(ctx, "waiter", "go", n).Get(ctx); err != nil {
		return 0, err
	}
	return f.Get(ctx)
}

// Abandoner starts a Waiter and cancels it.
func Abandoner(ctx workflow.Context) (string, error) {
	cctx, cancel := workflow.WithCancel(ctx)
	f := workflow.CreateSubWorkflowInstance[int](cctx, workflow.SubWorkflowOptions{WaitForCancellation: true}, Waiter)
	if err := workflow.Sleep(ctx, time.Minute); err != nil {
		return "", err
	}
	cancel()
	_, err := f.Get(ctx)
	return fmt.Sprintf("child ended: %v, canceled: %v", err, errors.Is(err, workflow.Canceled)), nil
}

func TestSubWorkflowSignalsAndCancel(t *testing.T) {
	t.Run("signal to a child", func(t *testing.T) {
		tst := tester.NewWorkflowTester[int](Nudger, tester.WithTB(t))
		tst.RegisterWorkflow(Waiter)
		tst.Execute(42)
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, 42, res)
	})
	t.Run("signal from the test to a child", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Abandoner, tester.WithTB(t))
		tst.RegisterWorkflow(Waiter)
		tst.ScheduleCallback(time.Second, func() {
			// The child of event 2 of the run: the derived instance ID.
			tst.SignalWorkflowInstance("run-1-2", "go", 7)
		})
		tst.Execute()
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "child ended: <nil>, canceled: false", res)
	})
	t.Run("cancel a child", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Abandoner, tester.WithTB(t))
		tst.RegisterWorkflow(Waiter)
		tst.Execute()
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "child ended: workflow canceled, canceled: true", res)
	})
}

// Notify signals another instance and reports how it went.
func Notify(ctx workflow.Context, target string) (string, error) {
	_, err := workflow.SignalWorkflow(ctx, target, "paid", Order{ID: "o-9", Items: 1}).Get(ctx)
	switch {
	case errors.Is(err, workflow.ErrInstanceNotFound):
		return "not found", nil
	case err != nil:
		return "error: " + err.Error(), nil
	}
	return "delivered", nil
}

func TestSignalOtherInstance(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tst *tester.WorkflowTester[string])
		want  string
	}{
		{"unknown instance", func(*tester.WorkflowTester[string]) {}, "not found"},
		{"mocked instance", func(tst *tester.WorkflowTester[string]) {
			tst.OnSignalWorkflow("billing", "paid", Order{ID: "o-9", Items: 1}).Return(nil).Once()
		}, "delivered"},
		{"mocked with a matcher", func(tst *tester.WorkflowTester[string]) {
			tst.OnSignalWorkflow("billing", "paid", mock.Anything).Return()
		}, "delivered"},
		{"mocked failure", func(tst *tester.WorkflowTester[string]) {
			tst.OnSignalWorkflow("billing", "paid", mock.Anything).Return(errors.New("billing is closed"))
		}, "error: billing is closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](Notify, tester.WithTB(t))
			tt.setup(tst)
			tst.Execute("billing")
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
			tst.AssertExpectations(t)
		})
	}
	t.Run("unexpected signal value", func(t *testing.T) {
		tb := newFakeTB(t)
		tst := tester.NewWorkflowTester[string](Notify, tester.WithTB(tb))
		tst.OnSignalWorkflow("billing", "paid", Order{ID: "o-1"}).Return(nil)
		tst.Execute("billing")
		msg := tb.failure(t)
		assert.Contains(t, msg, `signal "paid" to instance "billing" with tester_test.Order{ID:"o-9", Items:1}`)
		assert.Contains(t, msg, "matches no OnSignalWorkflow expectation")
	})
}

// Countdown starts itself as a sub-workflow, with derived instance IDs,
// down to zero.
func Countdown(ctx workflow.Context, n int) (string, error) {
	if n == 0 {
		return workflow.GetInfo(ctx).InstanceID, nil
	}
	return workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, Countdown, n-1).Get(ctx)
}

func TestRecursiveSubWorkflows(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Countdown, tester.WithTB(t))
	tst.Execute(3)
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	// Each child's instance ID derives from its parent's run, as in the
	// worker; runs are numbered across the test, so no two collide.
	assert.Equal(t, "run-3-2", res)
}

func Tidy(ctx context.Context, who string) error { return nil }

// Lingerer sleeps a day; canceled, it tidies up with an activity.
func Lingerer(ctx workflow.Context, who string) error {
	err := workflow.Sleep(ctx, 24*time.Hour)
	if errors.Is(err, workflow.Canceled) {
		dctx := workflow.NewDisconnectedContext(ctx)
		_, err := workflow.ExecuteActivity[struct{}](dctx, workflow.DefaultActivityOptions, Tidy, who).Get(dctx)
		return err
	}
	if err != nil {
		return err
	}
	_, err = workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, Tidy, who+" (woke)").Get(ctx)
	return err
}

// Leaver starts children under each parent-close policy and returns
// without waiting for them.
func Leaver(ctx workflow.Context) error {
	for _, c := range []struct {
		name   string
		policy workflow.ParentClosePolicy
	}{{"terminated", workflow.ParentCloseTerminate}, {"canceled", workflow.ParentCloseCancel}, {"abandoned", workflow.ParentCloseAbandon}} {
		workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{InstanceID: c.name, ParentClosePolicy: c.policy}, Lingerer, c.name)
	}
	return workflow.Sleep(ctx, time.Minute)
}

// When the parent ends, its children are terminated, canceled (their code
// sees workflow.Canceled and tidies up) or left to run, by their policy, as
// on a worker. (Execute returns when the workflow under test ends, so the
// abandoned child is not followed further.)
func TestParentClosePolicy(t *testing.T) {
	tst := tester.NewWorkflowTester[struct{}](Leaver, tester.WithTB(t))
	tst.RegisterWorkflow(Lingerer)
	tst.OnActivity(Tidy, mock.Anything, "canceled").Return(nil).Once()
	tst.Execute()
	require.True(t, tst.WorkflowFinished())
	_, err := tst.WorkflowResult()
	require.NoError(t, err)
	tst.AssertExpectations(t) // the canceled child tidied up; no other did (a call without a mock fails the test)
}
