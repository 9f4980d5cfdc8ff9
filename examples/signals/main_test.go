package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func TestApprove(t *testing.T) {
	start := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

	t.Run("enough approvals", func(t *testing.T) {
		tst := tester.NewWorkflowTester[[]string](Approve, tester.WithTB(t), tester.WithStartTime(start))
		tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("approve", Approval{By: "ann"}) })
		tst.ScheduleCallback(3*time.Hour, func() { tst.SignalWorkflow("approve", Approval{By: "bob"}) })
		tst.Execute(2)

		require.True(t, tst.WorkflowFinished())
		by, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, []string{"ann", "bob"}, by)
		assert.Equal(t, 3*time.Hour, tst.Now().Sub(start))
	})
	t.Run("expires after a day", func(t *testing.T) {
		tst := tester.NewWorkflowTester[[]string](Approve, tester.WithTB(t), tester.WithStartTime(start))
		tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("approve", Approval{By: "ann"}) })
		tst.Execute(2)

		_, err := tst.WorkflowResult()
		var werr *workflow.Error
		require.ErrorAs(t, err, &werr)
		assert.Equal(t, "Expired", werr.Type)
		assert.Equal(t, 24*time.Hour, tst.Now().Sub(start))
	})
}
