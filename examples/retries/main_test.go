package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
)

func TestNightly(t *testing.T) {
	tst := tester.NewWorkflowTester[[]string](Nightly, tester.WithTB(t))
	tst.RegisterWorkflow(Import)
	tst.RegisterWorkflow(Stuck)
	start := tst.Now()
	tst.Execute("b1")
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, []string{"imported b1 on attempt 3", "stuck: workflow Stuck: run timeout of 500ms exceeded"}, res)
	assert.Equal(t, 100*time.Millisecond+200*time.Millisecond+500*time.Millisecond, tst.Now().Sub(start))
}
