package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func TestWorkflow1(t *testing.T) {
	t.Run("mocked activities", func(t *testing.T) {
		tst := tester.NewWorkflowTester[int](Workflow1, tester.WithTB(t))
		tst.OnActivity(Activity1, mock.Anything, 35, 12).Return(47, nil)
		tst.OnActivity(Activity2, mock.Anything, 47).Return(100, nil)
		tst.Execute("hello")

		require.True(t, tst.WorkflowFinished())
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, 100, res)
		tst.AssertExpectations(t)
	})
	t.Run("real activities", func(t *testing.T) {
		tst := tester.NewWorkflowTester[int](Workflow1, tester.WithTB(t))
		tst.RegisterActivity(Activity1)
		tst.RegisterActivity(Activity2)
		tst.Execute("hello")

		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, 35+12+12, res)
	})
	t.Run("failing activity is retried, then fails the workflow", func(t *testing.T) {
		tst := tester.NewWorkflowTester[int](Workflow1, tester.WithTB(t))
		call := tst.OnActivity(Activity1, mock.Anything, 35, 12).Return(0, errors.New("adder is down"))
		start := tst.Now()
		tst.Execute("hello")

		_, err := tst.WorkflowResult()
		var werr *workflow.Error
		require.ErrorAs(t, err, &werr)
		assert.Equal(t, "adder is down", werr.Message)
		// workflow.DefaultActivityOptions: 3 attempts, 1s then 2s apart.
		call.Parent.AssertNumberOfCalls(t, "Activity1", 3)
		assert.Equal(t, "3s", tst.Now().Sub(start).String())
	})
}

func TestActivity1(t *testing.T) {
	v, err := tester.NewActivityEnv().ExecuteActivity(Activity1, 35, 12)
	require.NoError(t, err)
	var sum int
	require.NoError(t, v.Get(&sum))
	assert.Equal(t, 47, sum)
}
