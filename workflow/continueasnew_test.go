package workflow_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func Counter(ctx workflow.Context, n int, label string) (int, error) {
	if n < 3 {
		return 0, workflow.ContinueAsNew(ctx, n+1, label)
	}
	if label == "bad" {
		return 0, workflow.ContinueAsNew(ctx, "x")
	}
	return n, nil
}

func TestContinueAsNew(t *testing.T) {
	r := enginetest.Start(t, Counter, 1, "l")
	final := r.Final()
	require.Equal(t, history.WorkflowContinuedAsNew, final.Kind)
	require.Len(t, final.Args, 2)
	assert.Equal(t, 2, enginetest.Decode[int](r, final.Args[0]))
	assert.Equal(t, "l", enginetest.Decode[string](r, final.Args[1]))
	r.ReplayCheck()

	r = enginetest.Start(t, Counter, 3, "bad")
	final = r.Final()
	require.Equal(t, history.WorkflowFailed, final.Kind)
	assert.Equal(t, "workflow.ContinueAsNew: takes 2 arguments (int, string), got 1", final.Failure.Message)
}
