// Command await shows a workflow that waits on its own state with
// workflow.AwaitWithTimeout: signals change the state, the condition is
// re-checked after every event, and a deadline bounds the wait.
package main

import (
	"fmt"
	"log"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/examples/internal/setup"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Order waits until it is both paid and packed, or gives up after a day.
func Order(ctx workflow.Context, id string) (string, error) {
	var paid, packed bool
	payments := workflow.NewSignalChannel[int](ctx, "paid")
	packing := workflow.NewSignalChannel[string](ctx, "packed")
	workflow.Go(ctx, func(ctx workflow.Context) {
		payments.Receive(ctx)
		paid = true
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		packing.Receive(ctx)
		packed = true
	})
	ok, err := workflow.AwaitWithTimeout(ctx, 24*time.Hour, func() bool { return paid && packed })
	if err != nil {
		return "", err
	}
	if !ok {
		return "", workflow.NewError("Expired", fmt.Sprintf("order %s: paid=%v packed=%v after a day", id, paid, packed))
	}
	return "order " + id + " ready to ship", nil
}

func main() {
	env := setup.Start("await", func(w *worker.Worker) error { return w.RegisterWorkflow(Order) })
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: fmt.Sprintf("order-%d", time.Now().UnixNano())}, Order, "42")
	if err != nil {
		log.Fatal(err)
	}
	if err := env.Client.SignalWorkflow(ctx, inst.InstanceID, "packed", "box 7"); err != nil {
		log.Fatal(err)
	}
	if err := env.Client.SignalWorkflow(ctx, inst.InstanceID, "paid", 1999); err != nil {
		log.Fatal(err)
	}
	res, err := client.GetWorkflowResult[string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res)
}
