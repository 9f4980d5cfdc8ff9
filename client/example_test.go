package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/workflow"
)

// Order is the input of the example workflow.
type Order struct {
	ID    string
	Items []string
}

// ProcessOrder is a workflow. A worker would register it; the examples only
// start it.
func ProcessOrder(ctx workflow.Context, o Order) (int, error) {
	return len(o.Items), nil
}

// Start an instance and describe it. No worker runs here, so the instance
// stays running and its history stays empty.
func Example() {
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace("example"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx := context.Background()
	c := client.New(b)
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{
		InstanceID: "order-42",
	}, ProcessOrder, Order{ID: "42", Items: []string{"book", "pen"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started", inst.InstanceID)

	d, err := c.DescribeWorkflowInstance(ctx, "order-42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("workflow:", d.WorkflowName)
	fmt.Println("queue:", d.Queue)
	fmt.Println("status:", d.Status)
	fmt.Println("current run:", d.ExecutionID == inst.ExecutionID)
	fmt.Println("taken up by a worker:", !d.StartedAt.IsZero())
	fmt.Println("pending work:", !d.Pending.Empty())

	// The same ID again, while the instance runs.
	_, err = c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "order-42"}, ProcessOrder, Order{ID: "42"})
	fmt.Println("second start refused:", errors.Is(err, client.ErrInstanceAlreadyExists))

	// Arguments that do not fit the workflow are refused before anything
	// is written.
	_, err = c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ProcessOrder, "not an order")
	fmt.Println(err)

	// Without a worker, waiting for the result times out.
	_, err = client.GetWorkflowResult[int](ctx, c, inst, 100*time.Millisecond)
	fmt.Println("timed out:", errors.Is(err, context.DeadlineExceeded))

	// Output:
	// started order-42
	// workflow: ProcessOrder
	// queue: default
	// status: running
	// current run: true
	// taken up by a worker: false
	// pending work: false
	// second start refused: true
	// client: create workflow instance: workflow ProcessOrder(client_test.Order): argument 1: string does not fit client_test.Order
	// timed out: true
}

// List instances a page at a time, filtered by workflow and status. Pages
// come newest first.
func ExampleClient_ListWorkflowInstances() {
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	b, err := streams.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx := context.Background()
	c := client.New(b)
	for _, id := range []string{"order-1", "order-2", "order-3"} {
		if _, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, ProcessOrder, Order{ID: id}); err != nil {
			log.Fatal(err)
		}
	}

	opts := client.ListOptions{WorkflowName: "ProcessOrder", Status: streams.StatusRunning, Limit: 2}
	for {
		page, err := c.ListWorkflowInstances(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		for _, in := range page.Instances {
			fmt.Println(in.InstanceID, in.Status)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	// Unordered output:
	// order-3 running
	// order-2 running
	// order-1 running
}
