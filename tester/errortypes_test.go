package tester_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// CustomError is an error type of the user's own.
type CustomError struct{ Code int }

func (e *CustomError) Error() string { return fmt.Sprintf("custom failure %d", e.Code) }

func FailCustom(ctx context.Context, code int) error { return &CustomError{Code: code} }

// CustomTypes reports the type of its activity's error, then fails with
// an error of its own type.
func CustomTypes(ctx workflow.Context) (string, error) {
	opts := workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 1}}
	_, err := workflow.ExecuteActivity[struct{}](ctx, opts, FailCustom, 7).Get(ctx)
	var we *workflow.Error
	if !errors.As(err, &we) {
		return "", fmt.Errorf("unexpected: %T %v", err, err)
	}
	return "", fmt.Errorf("activity failed with %s %q: %w", we.Type, we.Message, &CustomError{Code: 9})
}

// TestCustomErrorType checks issue 15 in the tester, as in production: an
// activity's and a workflow's own error types arrive as their names in
// (*workflow.Error).Type.
func TestCustomErrorType(t *testing.T) {
	tst := tester.NewWorkflowTester[string](CustomTypes, tester.WithTB(t))
	tst.RegisterActivity(FailCustom)
	tst.Execute()
	_, err := tst.WorkflowResult()
	var we *workflow.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, "CustomError", we.Type)
	assert.Equal(t, `activity failed with CustomError "custom failure 7": custom failure 9`, we.Message)
}
