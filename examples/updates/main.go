// Command updates shows a shopping cart that takes updates: each "add"
// update returns the cart's new size, a validator rejects a bad quantity
// before anything is recorded, and signal-with-start starts the cart with
// its first item.
package main

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/examples/internal/setup"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Item is a line of the cart.
type Item struct {
	SKU string
	Qty int
}

// Cart collects items from "add" updates and "add" signals until a
// "checkout" signal, then returns how many units it holds.
func Cart(ctx workflow.Context, owner string) (int, error) {
	var items []Item
	add := func(it Item) int {
		items = append(items, it)
		return len(items)
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, "add",
		func(ctx workflow.Context, it Item) (int, error) { return add(it), nil },
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, it Item) error {
			if it.Qty <= 0 {
				return fmt.Errorf("quantity %d of %s is not positive", it.Qty, it.SKU)
			}
			return nil
		}})
	if err != nil {
		return 0, err
	}
	signals := workflow.NewSignalChannel[Item](ctx, "add")
	checkout := workflow.NewSignalChannel[struct{}](ctx, "checkout")
	for done := false; !done; {
		workflow.Select(ctx,
			workflow.Receive(signals, func(ctx workflow.Context, it Item, ok bool) { add(it) }),
			workflow.Receive(checkout, func(workflow.Context, struct{}, bool) { done = true }),
		)
	}
	if err := workflow.AwaitAllHandlersFinished(ctx); err != nil {
		return 0, err
	}
	units := 0
	for _, it := range items {
		units += it.Qty
	}
	return units, nil
}

func main() {
	env := setup.Start("updates", func(w *worker.Worker) error { return w.RegisterWorkflow(Cart) })
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	id := fmt.Sprintf("cart-%d", time.Now().UnixNano())
	inst, err := env.Client.SignalWithStartWorkflow(ctx, client.WorkflowInstanceOptions{InstanceID: id},
		Cart, []any{"ann"}, "add", Item{SKU: "tea", Qty: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started", inst.InstanceID, "with its first item")
	n, err := client.UpdateWorkflow[int](ctx, env.Client, client.UpdateOptions{
		Instance: inst, Name: "add", UpdateID: "add-mugs"}, Item{SKU: "mug", Qty: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cart holds", n, "lines")
	_, err = client.UpdateWorkflow[int](ctx, env.Client, client.UpdateOptions{Instance: inst, Name: "add"}, Item{SKU: "pot", Qty: 0})
	if !errors.Is(err, client.ErrUpdateRejected) {
		log.Fatalf("expected a rejection, got %v", err)
	}
	fmt.Println("rejected:", err)
	if err := env.Client.SignalWorkflow(ctx, id, "checkout", struct{}{}); err != nil {
		log.Fatal(err)
	}
	units, err := client.GetWorkflowResult[int](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("checked out", units, "units")
}
