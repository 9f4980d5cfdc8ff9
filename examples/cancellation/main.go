// Command cancellation shows a workflow canceled while a long activity
// runs, as users of durable engines know it:
//
//   - the heartbeating activity's context is canceled, and the workflow
//     waits for it to stop (WaitForCancellation);
//   - the next activity is skipped: scheduled with a canceled context, it
//     fails at once with workflow.Canceled and never runs;
//   - a cleanup activity runs in a disconnected context, which the cancel
//     does not reach.
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

// provisioning is told when Provision is a few steps in, so main cancels
// while it runs.
var provisioning = make(chan struct{}, 1)

// Provision is a long activity that reports its progress as heartbeats.
// Canceled, it stops at once.
func Provision(ctx context.Context, name string) error {
	for step := 1; step <= 50; step++ {
		activity.RecordHeartbeat(ctx, step)
		if step == 3 {
			select {
			case provisioning <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			fmt.Printf("Provision(%s): stopped at step %d: %v\n", name, step, ctx.Err())
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// Configure configures a provisioned machine.
func Configure(ctx context.Context, name string) error {
	fmt.Printf("Configure(%s): ran\n", name)
	return nil
}

// Release undoes a provisioning.
func Release(ctx context.Context, name string) (string, error) {
	fmt.Printf("Release(%s): ran\n", name)
	return "released " + name, nil
}

// ProvisionOptions: a heartbeat every 100ms is expected, and on a cancel
// the workflow waits until Provision has stopped.
var ProvisionOptions = workflow.ActivityOptions{
	HeartbeatTimeout:    2 * time.Second,
	WaitForCancellation: true,
	RetryOptions:        workflow.DefaultRetryOptions,
}

// Setup provisions and configures a machine; canceled, it releases it.
func Setup(ctx workflow.Context, name string) (string, error) {
	_, err := workflow.ExecuteActivity[struct{}](ctx, ProvisionOptions, Provision, name).Get(ctx)
	if err == nil {
		// Skipped when ctx was canceled meanwhile: never scheduled.
		_, err = workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, Configure, name).Get(ctx)
	}
	if !errors.Is(err, workflow.Canceled) {
		if err != nil {
			return "", err
		}
		return "ready: " + name, nil
	}
	// Canceled: ctx can schedule nothing more, a disconnected one can.
	dctx := workflow.NewDisconnectedContext(ctx)
	msg, err := workflow.ExecuteActivity[string](dctx, workflow.DefaultActivityOptions, Release, name).Get(dctx)
	if err != nil {
		return "", err
	}
	workflow.Logger(ctx).Info("cleaned up after a cancel", "what", msg)
	return msg, workflow.Canceled
}

func main() {
	env := setup.Start("cancellation", func(w *worker.Worker) error {
		return errors.Join(w.RegisterWorkflow(Setup), w.RegisterActivity(Provision),
			w.RegisterActivity(Configure), w.RegisterActivity(Release))
	})
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Setup, "vm-1")
	if err != nil {
		log.Fatal(err)
	}
	select {
	case <-provisioning:
	case <-ctx.Done():
		log.Fatal("Provision never started")
	}
	if err := env.Client.CancelWorkflowInstance(ctx, inst); err != nil {
		log.Fatal(err)
	}
	fmt.Println("cancel requested")
	_, err = client.GetWorkflowResult[string](ctx, env.Client, inst, 30*time.Second)
	fmt.Println("workflow ended:", err, "| canceled:", errors.Is(err, client.ErrWorkflowCanceled))

	h, err := env.Client.GetWorkflowHistory(ctx, inst)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("history:")
	for _, e := range h.Events {
		fmt.Printf("  %2d %-24v %s\n", e.ID, e.Kind, e.Name)
	}
}
