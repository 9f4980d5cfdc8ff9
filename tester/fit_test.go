package tester_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

type Parcel struct {
	ID     string
	Weight int
}

func Weigh(ctx context.Context, p Parcel) (int, error) { return p.Weight, nil }

// WeighByPointer passes a *Parcel to an activity that takes a Parcel.
func WeighByPointer(ctx workflow.Context, p *Parcel) (int, error) {
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Weigh, p).Get(ctx)
}

func TestPointerArgumentsInTheTester(t *testing.T) {
	t.Run("real activity", func(t *testing.T) {
		tst := tester.NewWorkflowTester[int](WeighByPointer, tester.WithTB(t))
		tst.RegisterActivity(Weigh)
		tst.Execute(Parcel{ID: "p", Weight: 7}) // a value for the workflow's pointer
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, 7, res)
	})
	t.Run("mock matches the value", func(t *testing.T) {
		tst := tester.NewWorkflowTester[int](WeighByPointer, tester.WithTB(t))
		tst.OnActivity(Weigh, mock.Anything, Parcel{ID: "p", Weight: 7}).Return(70, nil)
		tst.Execute(&Parcel{ID: "p", Weight: 7})
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, 70, res)
		tst.AssertExpectations(t)
	})
}
