// Package acts has activities, registered by package app; Executed is
// known as an activity from this package's own ExecuteActivity call.
package acts

import (
	"context"
	"time"

	"github.com/jetflow/jetflow/workflow"
)

// Activities are registered as a struct.
type Activities struct{}

// Greet greets.
func (a *Activities) Greet(ctx context.Context, name string) (string, error) {
	return "hi " + name, nil
}

// Fetch fetches.
func Fetch(ctx context.Context, key string) (string, error) { return key, nil }

// Executed is run by Run.
func Executed(ctx context.Context) (string, error) { return "", nil } // want Executed:"activity"

// Run runs Executed as an activity.
func Run(ctx workflow.Context) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Executed).Get(ctx)
}

// Local is run by RunLocal as a local activity.
func Local(ctx context.Context) (string, error) { return "", nil } // want Local:"activity"

// RunLocal runs Local as a local activity, and a literal that reads the
// clock: activity code, not workflow code.
func RunLocal(ctx workflow.Context) (string, error) {
	workflow.ExecuteLocalActivity[string](ctx, workflow.LocalActivityOptions{}, func(ctx context.Context) (string, error) {
		return time.Now().String(), nil
	})
	return workflow.ExecuteLocalActivity[string](ctx, workflow.LocalActivityOptions{}, Local).Get(ctx)
}
