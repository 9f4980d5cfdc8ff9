package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
)

func TestCart(t *testing.T) {
	tst := tester.NewWorkflowTester[int](Cart, tester.WithTB(t))
	var ok, bad *tester.Update
	tst.ScheduleCallback(time.Minute, func() {
		ok = tst.UpdateWorkflow("add", Item{SKU: "mug", Qty: 2})
		bad = tst.UpdateWorkflow("add", Item{SKU: "pot", Qty: 0})
	})
	tst.ScheduleCallback(2*time.Minute, func() { tst.SignalWorkflow("add", Item{SKU: "tea", Qty: 1}) })
	tst.ScheduleCallback(3*time.Minute, func() { tst.SignalWorkflow("checkout", struct{}{}) })
	tst.Execute("ann")

	units, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, 3, units)
	lines, err := tester.UpdateResult[int](ok)
	require.NoError(t, err)
	assert.Equal(t, 1, lines)
	require.ErrorIs(t, bad.Err(), tester.ErrUpdateRejected)
	assert.Contains(t, bad.Err().Error(), "quantity 0 of pot is not positive")
}
