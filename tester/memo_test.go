package tester_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// MemoChild returns its memo's "ticket", or "none".
func MemoChild(ctx workflow.Context) (string, error) {
	var ticket string
	ok, err := workflow.GetMemoValue(ctx, "ticket", &ticket)
	if !ok {
		return "none", err
	}
	return ticket, err
}

// MemoParent starts MemoChild with and without a memo.
func MemoParent(ctx workflow.Context) ([]string, error) {
	a, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{
		Memo: map[string]any{"ticket": "SUP-7"},
	}, MemoChild).Get(ctx)
	if err != nil {
		return nil, err
	}
	b, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, MemoChild).Get(ctx)
	return []string{a, b}, err
}

func TestSubWorkflowMemoInTheTester(t *testing.T) {
	tst := tester.NewWorkflowTester[[]string](MemoParent, tester.WithTB(t), tester.WithReplayCheck())
	tst.RegisterWorkflow(MemoChild)
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, []string{"SUP-7", "none"}, res)
}
