// Command localactivity shows local activities: short functions run by
// the workflow worker inside the workflow task, their results recorded in
// the history as one event each, without an activity task round trip.
package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/examples/internal/setup"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// normalizeAddress is a plain function, not registered with the worker:
// a local activity may run a function value as it is.
func normalizeAddress(ctx context.Context, addr string) (string, error) {
	return strings.ToUpper(strings.TrimSpace(addr)), nil
}

// Prices looks prices up; registered, so the worker's instance (with its
// table) runs even when the workflow names the method on a nil pointer.
type Prices struct{ Table map[string]int }

// Price returns the price of an item, failing the first attempt (a cache
// warming up) to show the retry inside the task.
func (p *Prices) Price(ctx context.Context, item string) (int, error) {
	if activity.Attempt(ctx) == 1 {
		return 0, fmt.Errorf("price cache cold")
	}
	return p.Table[item], nil
}

// Charge is an ordinary activity: a task on the activity queue.
func Charge(ctx context.Context, addr string, cents int) (string, error) {
	return fmt.Sprintf("charged %d cents, shipping to %s", cents, addr), nil
}

// Checkout normalizes the address and prices the item locally, then
// charges with an ordinary activity.
func Checkout(ctx workflow.Context, item, addr string) (string, error) {
	local := workflow.LocalActivityOptions{
		StartToCloseTimeout: 2 * time.Second,
		RetryOptions:        workflow.RetryOptions{FirstRetryInterval: 50 * time.Millisecond, MaxAttempts: 3},
	}
	addrF := workflow.ExecuteLocalActivity[string](ctx, local, normalizeAddress, addr)
	var p *Prices
	priceF := workflow.ExecuteLocalActivity[int](ctx, local, p.Price, item) // runs beside the first
	norm, err := addrF.Get(ctx)
	if err != nil {
		return "", err
	}
	price, err := priceF.Get(ctx)
	if err != nil {
		return "", err
	}
	opts := workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second}
	return workflow.ExecuteActivity[string](ctx, opts, Charge, norm, price).Get(ctx)
}

func main() {
	env := setup.Start("localactivity", func(w *worker.Worker) error {
		if err := w.RegisterWorkflow(Checkout); err != nil {
			return err
		}
		if err := w.RegisterActivity(&Prices{Table: map[string]int{"lamp": 4999}}); err != nil {
			return err
		}
		return w.RegisterActivity(Charge)
	})
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Checkout, "lamp", " 1 main st ")
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.GetWorkflowResult[string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res)
	h, err := env.Client.GetWorkflowHistory(ctx, inst)
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range h.Events {
		switch ev.Kind {
		case history.LocalActivityCompleted, history.ActivityScheduled:
			line := fmt.Sprintf("%s %s", ev.Kind, ev.Name)
			if ev.Local != nil {
				line += fmt.Sprintf(" (attempt %d)", ev.Local.Attempt)
			}
			fmt.Println(line)
		}
	}
}
