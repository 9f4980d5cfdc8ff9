// Command cancellation shows a workflow canceled while its activity runs:
// the workflow notices the cancel, and runs a cleanup activity in a
// disconnected context, as users of durable engines know it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/examples/internal/setup"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Provision is a long activity that reports progress.
func Provision(ctx context.Context, name string) error {
	for i := 0; ; i++ {
		activity.RecordHeartbeat(ctx, i)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if i == 50 {
			return nil
		}
	}
}

// Release undoes a provisioning.
func Release(ctx context.Context, name string) (string, error) {
	return "released " + name, nil
}

// Setup provisions a machine; canceled, it releases it.
func Setup(ctx workflow.Context, name string) (string, error) {
	_, err := workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, Provision, name).Get(ctx)
	if errors.Is(err, workflow.Canceled) {
		dctx := workflow.NewDisconnectedContext(ctx)
		msg, cerr := workflow.ExecuteActivity[string](dctx, workflow.DefaultActivityOptions, Release, name).Get(dctx)
		if cerr != nil {
			return "", cerr
		}
		workflow.Logger(ctx).Info("cleaned up after cancel", "what", msg)
		return msg, workflow.Canceled
	}
	return "provisioned " + name, err
}

func main() {
	env := setup.Start("cancellation", func(w *worker.Worker) error {
		return errors.Join(w.RegisterWorkflow(Setup), w.RegisterActivity(Provision), w.RegisterActivity(Release))
	})
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Setup, "vm-1")
	if err != nil {
		log.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the activity get going
	if err := env.Client.CancelWorkflowInstance(ctx, inst); err != nil {
		log.Fatal(err)
	}
	fmt.Println("cancel requested")
	_, err = client.GetWorkflowResult[string](ctx, env.Client, inst, 30*time.Second)
	fmt.Println("workflow ended:", err, "| canceled:", errors.Is(err, client.ErrWorkflowCanceled))
}
