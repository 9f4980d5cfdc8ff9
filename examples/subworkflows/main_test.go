package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func TestOrder(t *testing.T) {
	t.Run("real children", func(t *testing.T) {
		tst := tester.NewWorkflowTester[[]string](Order, tester.WithTB(t))
		tst.RegisterWorkflow(Ship)
		tst.Execute([]int{1, 2, 0})

		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, []string{
			"parcel 1 shipped",
			"parcel 2 shipped",
			"failed: NoAddress: parcel 0 has no address",
		}, res)
	})
	t.Run("mocked children", func(t *testing.T) {
		tst := tester.NewWorkflowTester[[]string](Order, tester.WithTB(t))
		tst.OnSubWorkflow(Ship, mock.Anything, 7).Return("parcel 7 lost", nil)
		tst.OnSubWorkflow(Ship, mock.Anything, 8).Return("", workflow.NewError("Customs", "held at the border"))
		tst.Execute([]int{7, 8})

		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, []string{"parcel 7 lost", "failed: Customs: held at the border"}, res)
		tst.AssertExpectations(t)
	})
}

func TestShip(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Ship, tester.WithTB(t))
	tst.Execute(0)
	_, err := tst.WorkflowResult()
	var werr *workflow.Error
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, "NoAddress", werr.Type)
}
