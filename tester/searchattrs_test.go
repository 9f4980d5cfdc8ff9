package tester_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// UpsertTwice upserts search attributes around a timer.
func UpsertTwice(ctx workflow.Context) (string, error) {
	if err := workflow.UpsertSearchAttributes(ctx, map[string]string{"stage": "started"}); err != nil {
		return "", err
	}
	if err := workflow.Sleep(ctx, 1); err != nil {
		return "", err
	}
	if err := workflow.UpsertSearchAttributes(ctx, map[string]string{"stage": "done"}); err != nil {
		return "", err
	}
	return "ok", nil
}

func TestUpsertSearchAttributesInTheTester(t *testing.T) {
	tst := tester.NewWorkflowTester[string](UpsertTwice, tester.WithTB(t), tester.WithReplayCheck())
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "ok", res)
}
