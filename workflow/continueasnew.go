package workflow

import (
	"fmt"

	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/internal/wfenv"
)

// ContinueAsNew returns the error a workflow returns to end its run and
// start a new run of the same instance with args (checked against the
// workflow's parameters). Use it to keep the history of a long-lived
// workflow short.
//
//	return workflow.ContinueAsNew(ctx, nextInput)
func ContinueAsNew(ctx Context, args ...any) error {
	env := envOf(ctx)
	if t := env.WorkflowFunc(); t != nil {
		if err := funcinfo.CheckArgs(t, 1, args); err != nil {
			return fmt.Errorf("workflow.ContinueAsNew: %w", err)
		}
	}
	payloads, err := call.EncodeArgs(env, args)
	if err != nil {
		return fmt.Errorf("workflow.ContinueAsNew: %w", err)
	}
	return &wfenv.ContinueAsNewError{Args: payloads}
}
