package worker_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Shout is an activity.
func Shout(ctx context.Context, s string) (string, error) { return strings.ToUpper(s) + "!", nil }

// Greet is a workflow that calls it.
func Greet(ctx workflow.Context, name string) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Shout, "hello "+name).Get(ctx)
}

// A worker runs the workflows and activities registered with it; a client
// starts an instance and waits for its result. Everything runs on an
// embedded NATS server here; in production the worker and the client
// connect to a NATS cluster, each in its own processes.
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
	b, err := streams.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	w := worker.New(b, nil)
	if err := w.RegisterWorkflow(Greet); err != nil {
		log.Fatal(err)
	}
	if err := w.RegisterActivity(Shout); err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() {
		stop()
		w.WaitForCompletion()
	}()

	c := client.New(b)
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "greet-1"}, Greet, "ann")
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.GetWorkflowResult[string](ctx, c, inst, 10*time.Second)
	fmt.Println(res, err)
	// Output: HELLO ANN! <nil>
}
