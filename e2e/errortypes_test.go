package e2e

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// CustomError is an error type of the user's own, as users of other
// engines branch on.
type CustomError struct {
	Code  int
	stack string
}

func (e *CustomError) Error() string { return fmt.Sprintf("custom failure %d", e.Code) }

// Stack is the stack where the error was made, which jetflow keeps.
func (e *CustomError) Stack() string { return e.stack }

// FailCustom is an activity that fails with a *CustomError.
func FailCustom(ctx context.Context, code int) error {
	return &CustomError{Code: code, stack: string(debug.Stack())}
}

// CustomActivityWorkflow reports what the activity's error looks like to
// the workflow, then fails with it.
func CustomActivityWorkflow(ctx workflow.Context) (string, error) {
	opts := workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 1}}
	_, err := workflow.ExecuteActivity[struct{}](ctx, opts, FailCustom, 7).Get(ctx)
	var we *workflow.Error
	if !errors.As(err, &we) {
		return "", fmt.Errorf("unexpected: %T %v", err, err)
	}
	return "", fmt.Errorf("workflow saw %s %q: %w", we.Type, we.Message, err)
}

// CustomWorkflow fails with an error of its own type, wrapped.
func CustomWorkflow(ctx workflow.Context) error {
	return fmt.Errorf("order 42: %w", &CustomError{Code: 9})
}

// TestCustomErrorTypeCrosses checks issue 15: an activity or a workflow
// returning its own Go error type reaches the caller as a *workflow.Error
// whose Type is the type's name, with the message intact and the stack the
// error carried.
func TestCustomErrorTypeCrosses(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(CustomActivityWorkflow))
			must(t, w.RegisterWorkflow(CustomWorkflow))
			must(t, w.RegisterActivity(FailCustom))
		})
		ctx := ctxFor(t)

		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, CustomActivityWorkflow)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		var we *workflow.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, "CustomError", we.Type)
		assert.Equal(t, `workflow saw CustomError "custom failure 7": custom failure 7`, we.Message)
		assert.Contains(t, we.Stack, "e2e.FailCustom", "the activity's stack")

		inst, err = e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, CustomWorkflow)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[struct{}](ctx, e.c, inst, 20*time.Second)
		require.ErrorAs(t, err, &we)
		assert.Equal(t, "CustomError", we.Type)
		assert.Equal(t, "order 42: custom failure 9", we.Message)
		assert.Empty(t, we.Stack, "the error carried no stack")
	})
}
