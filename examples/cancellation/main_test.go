package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func TestSetup(t *testing.T) {
	t.Run("not canceled", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Setup, tester.WithTB(t))
		tst.OnActivity(Provision, mock.Anything, "vm-1").Return(nil)
		tst.OnActivity(Configure, mock.Anything, "vm-1").Return(nil)
		tst.Execute("vm-1")

		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "ready: vm-1", res)
		tst.AssertExpectations(t)
	})
	t.Run("canceled while provisioning, with mocks", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Setup, tester.WithTB(t))
		// Provision runs until its context is canceled.
		tst.OnActivity(Provision, mock.Anything, "vm-1").Return(func(ctx context.Context, name string) error {
			<-ctx.Done()
			return ctx.Err()
		})
		tst.OnActivity(Release, mock.Anything, "vm-1").Return("released vm-1", nil).Once()
		// No mock for Configure: it is skipped, and a call would fail
		// the test.
		tst.ScheduleCallback(10*time.Millisecond, tst.CancelWorkflow)
		tst.Execute("vm-1")

		require.True(t, tst.WorkflowFinished())
		_, err := tst.WorkflowResult()
		assert.ErrorIs(t, err, workflow.Canceled)
		tst.AssertExpectations(t)
	})
	t.Run("canceled while provisioning, real activities", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Setup, tester.WithTB(t))
		tst.RegisterActivity(Provision)
		tst.RegisterActivity(Configure)
		tst.RegisterActivity(Release)
		// Provision takes five seconds; while it runs, mock time follows
		// the wall clock, so the cancel comes 300ms into it.
		tst.ScheduleCallback(300*time.Millisecond, tst.CancelWorkflow)
		tst.Execute("vm-1")

		_, err := tst.WorkflowResult()
		assert.True(t, errors.Is(err, workflow.Canceled), "got %v", err)
	})
}

func TestProvisionHeartbeats(t *testing.T) {
	env := tester.NewActivityEnv()
	ctx, cancel := context.WithTimeout(env.Context(context.Background()), 250*time.Millisecond)
	defer cancel()
	err := Provision(ctx, "vm-1")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, len(env.Heartbeats()), 1)
}
