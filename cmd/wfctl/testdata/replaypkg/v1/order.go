// Package replaypkg holds the workflow code "wfctl replay" is tested with.
// The tests run v1 to record histories; v1 replays them cleanly, v2 (the
// same workflow with its activities in the other order) does not.
package replaypkg

import (
	"context"

	"github.com/jetflow/jetflow/workflow"
)

// Order reserves the stock, then charges the customer.
func Order(ctx workflow.Context, id string) (string, error) {
	reserved, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Reserve, id).Get(ctx)
	if err != nil {
		return "", err
	}
	charged, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Charge, id).Get(ctx)
	if err != nil {
		return "", err
	}
	return reserved + ", " + charged, nil
}

// Describe has a workflow.Context but is no workflow (no error result):
// replay must not register it.
func Describe(ctx workflow.Context) string { return workflow.GetInfo(ctx).WorkflowName }

// Reserve is an activity.
func Reserve(ctx context.Context, id string) (string, error) { return "reserved " + id, nil }

// Charge is an activity.
func Charge(ctx context.Context, id string) (string, error) { return "charged " + id, nil }
