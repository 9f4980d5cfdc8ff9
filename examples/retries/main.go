// Command retries shows a workflow's own retry policy and timeouts: a
// flaky sub-workflow is run again until it succeeds, a stuck one is ended
// by its run timeout, and the parent itself starts after a delay.
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

// Import fails its first two runs (a flaky upstream), then succeeds.
func Import(ctx workflow.Context, batch string) (string, error) {
	attempt := workflow.GetInfo(ctx).Attempt
	if attempt < 3 {
		return "", fmt.Errorf("upstream unavailable (attempt %d)", attempt)
	}
	return fmt.Sprintf("imported %s on attempt %d", batch, attempt), nil
}

// Stuck waits for a signal that never comes.
func Stuck(ctx workflow.Context) error {
	workflow.NewSignalChannel[string](ctx, "never").Receive(ctx)
	return nil
}

// Nightly runs Import with retries and Stuck with a run timeout.
func Nightly(ctx workflow.Context, batch string) ([]string, error) {
	imported, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{
		RetryOptions: &workflow.RetryOptions{FirstRetryInterval: 100 * time.Millisecond, MaxAttempts: 5},
	}, Import, batch).Get(ctx)
	if err != nil {
		return nil, err
	}
	_, err = workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{RunTimeout: 500 * time.Millisecond}, Stuck).Get(ctx)
	var we *workflow.Error
	if !errors.As(err, &we) || we.Type != workflow.ErrTypeTimeout {
		return nil, fmt.Errorf("expected a timeout, got %v", err)
	}
	return []string{imported, "stuck: " + we.Message}, nil
}

func main() {
	env := setup.Start("retries", func(w *worker.Worker) error {
		return errors.Join(w.RegisterWorkflow(Nightly), w.RegisterWorkflow(Import), w.RegisterWorkflow(Stuck))
	})
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{
		InstanceID:       fmt.Sprintf("nightly-%d", time.Now().UnixNano()),
		StartDelay:       time.Second,      // a server-side schedule starts it
		ExecutionTimeout: 30 * time.Second, // the whole night's budget
	}, Nightly, "2026-12-05")
	if err != nil {
		log.Fatal(err)
	}
	d, err := env.Client.DescribeWorkflowInstance(ctx, inst.InstanceID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scheduled to start at", d.StartAt.Format(time.RFC3339))
	out, err := client.GetWorkflowResult[[]string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range out {
		fmt.Println(line)
	}
}
