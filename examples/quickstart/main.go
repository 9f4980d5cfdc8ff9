// Command quickstart runs the classic two-activity workflow: a client
// starts it, a worker runs it, and the result is printed. It starts an
// embedded NATS server unless NATS_URL is set.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/examples/internal/setup"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Workflow1 adds 35 and 12 in one activity, then 12 more in another.
func Workflow1(ctx workflow.Context, input string) (int, error) {
	workflow.Logger(ctx).Info("workflow started", "input", input)
	r1, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Activity1, 35, 12).Get(ctx)
	if err != nil {
		return 0, err
	}
	r2, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Activity2, r1).Get(ctx)
	if err != nil {
		return 0, err
	}
	return r2, nil
}

// Activity1 adds two numbers.
func Activity1(ctx context.Context, a, b int) (int, error) { return a + b, nil }

// Activity2 adds 12.
func Activity2(ctx context.Context, a int) (int, error) { return a + 12, nil }

func main() {
	env := setup.Start("quickstart", func(w *worker.Worker) error {
		if err := w.RegisterWorkflow(Workflow1); err != nil {
			return err
		}
		if err := w.RegisterActivity(Activity1); err != nil {
			return err
		}
		return w.RegisterActivity(Activity2)
	})
	defer env.Stop()

	ctx, cancel := setup.Context()
	defer cancel()
	start := time.Now()
	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Workflow1, "hello")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started instance", inst.InstanceID)
	res, err := client.GetWorkflowResult[int](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("result: %d (35 + 12 + 12), in %s\n", res, time.Since(start).Round(time.Millisecond))
}
