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

func Square(ctx context.Context, n int) (int, error) { return n * n, nil }

// SquaresInOrderOfCompletion fans out and handles each result once, in the
// order they arrive, with a Selector.
func SquaresInOrderOfCompletion(ctx workflow.Context, ns []int) ([]int, error) {
	sel := workflow.NewSelector(ctx)
	var out []int
	var firstErr error
	for _, n := range ns {
		f := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Square, n)
		sel.Add(workflow.Await(f, func(ctx workflow.Context, f workflow.Future[int]) {
			v, err := f.Get(ctx)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out = append(out, v)
		}))
	}
	for range ns {
		sel.Select(ctx)
	}
	return out, firstErr
}

func TestSelectorInTheTester(t *testing.T) {
	tst := tester.NewWorkflowTester[[]int](SquaresInOrderOfCompletion, tester.WithTB(t))
	tst.OnActivity(Square, mock.Anything, 1).Return(1, nil).Once()
	tst.OnActivity(Square, mock.Anything, 2).Return(4, nil).Once()
	tst.OnActivity(Square, mock.Anything, 3).Return(9, nil).Once()
	tst.Execute([]int{1, 2, 3})
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.ElementsMatch(t, []int{1, 4, 9}, res, "each result once")
	tst.AssertExpectations(t)
}
