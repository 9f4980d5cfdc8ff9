package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func TestOrder(t *testing.T) {
	t.Run("paid and packed", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Order, tester.WithTB(t))
		start := tst.Now()
		tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("paid", 10) })
		tst.ScheduleCallback(5*time.Hour, func() { tst.SignalWorkflow("packed", "box") })
		tst.Execute("1")
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "order 1 ready to ship", res)
		assert.Equal(t, 5*time.Hour, tst.Now().Sub(start))
	})
	t.Run("never packed", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Order, tester.WithTB(t))
		tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("paid", 10) })
		tst.Execute("1")
		_, err := tst.WorkflowResult()
		var werr *workflow.Error
		require.ErrorAs(t, err, &werr)
		assert.Equal(t, "Expired", werr.Type)
	})
}
