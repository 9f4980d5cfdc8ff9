package tester_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// CallFlakyWithContextOptions calls Flaky with zero options under a
// context that allows two attempts, a minute apart.
func CallFlakyWithContextOptions(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		RetryOptions: workflow.RetryOptions{MaxAttempts: 2, FirstRetryInterval: time.Minute},
	})
	return CallFlaky(ctx, workflow.ActivityOptions{})
}

func TestActivityOptionsFromTheContextInTheTester(t *testing.T) {
	tst := tester.NewWorkflowTester[string](CallFlakyWithContextOptions, tester.WithTB(t))
	call := tst.OnActivity(Flaky, mock.Anything, 1).Return(0, errors.New("flaky"))
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "failed after 1m0s: flaky", res)
	call.Parent.AssertNumberOfCalls(t, "Flaky", 2)
}
