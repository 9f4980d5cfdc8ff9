// Command v2 is the next version of replaypkg's Order, kept in package main
// as the examples keep their workflows: it charges before it reserves, which
// the histories v1 wrote do not allow.
package main

import (
	"context"
	"fmt"

	wf "github.com/jetflow/jetflow/workflow"
)

// Order charges first now.
func Order(ctx wf.Context, id string) (string, error) {
	charged, err := wf.ExecuteActivity[string](ctx, wf.DefaultActivityOptions, Charge, id).Get(ctx)
	if err != nil {
		return "", err
	}
	reserved, err := wf.ExecuteActivity[string](ctx, wf.DefaultActivityOptions, Reserve, id).Get(ctx)
	if err != nil {
		return "", err
	}
	return reserved + ", " + charged, nil
}

// Reserve is an activity.
func Reserve(ctx context.Context, id string) (string, error) { return "reserved " + id, nil }

// Charge is an activity.
func Charge(ctx context.Context, id string) (string, error) { return "charged " + id, nil }

func main() {
	fmt.Println("v2 registers Order, Reserve and Charge with a worker")
}
