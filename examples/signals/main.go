// Command signals shows a workflow waiting for approval signals: it
// collects two approvals, then finishes with their names.
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

// Approval is the signal's payload.
type Approval struct{ By string }

// Approve waits for n approvals, or gives up after a day.
func Approve(ctx workflow.Context, n int) ([]string, error) {
	approvals := workflow.NewSignalChannel[Approval](ctx, "approve")
	deadline := workflow.ScheduleTimer(ctx, 24*time.Hour)
	var by []string
	for len(by) < n {
		timedOut := false
		workflow.Select(ctx,
			workflow.Receive(approvals, func(ctx workflow.Context, a Approval, ok bool) {
				workflow.Logger(ctx).Info("approved", "by", a.By)
				by = append(by, a.By)
			}),
			workflow.Await(deadline, func(workflow.Context, workflow.Future[struct{}]) { timedOut = true }),
		)
		if timedOut {
			return by, workflow.NewError("Expired", "not enough approvals within a day")
		}
	}
	return by, nil
}

func main() {
	env := setup.Start("signals", func(w *worker.Worker) error { return w.RegisterWorkflow(Approve) })
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: fmt.Sprintf("expense-%d", time.Now().UnixNano())}, Approve, 2)
	if err != nil {
		log.Fatal(err)
	}
	for _, who := range []string{"ann", "bob"} {
		if err := env.Client.SignalWorkflow(ctx, inst.InstanceID, "approve", Approval{By: who}); err != nil {
			log.Fatal(err)
		}
		fmt.Println("signaled approval by", who)
	}
	by, err := client.GetWorkflowResult[[]string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("approved by", by)
}
