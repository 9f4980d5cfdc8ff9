package workflow_test

import (
	"fmt"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

// Approval waits for an "approve" signal, for at most a day.
func Approval(ctx workflow.Context) (string, error) {
	approvals := workflow.NewSignalChannel[string](ctx, "approve")
	tctx, cancelTimer := workflow.WithCancel(ctx)
	deadline := workflow.ScheduleTimer(tctx, 24*time.Hour)
	result := "expired"
	workflow.Select(ctx,
		workflow.Receive(approvals, func(ctx workflow.Context, by string, _ bool) {
			result = "approved by " + by
			cancelTimer()
		}),
		workflow.Await(deadline, func(workflow.Context, workflow.Future[struct{}]) {}),
	)
	return result, nil
}

// ExampleSelect runs Approval through the engine, as a worker would: the
// start, then a signal.
func ExampleSelect() {
	workflows, _ := registry.NewWorkflows(Approval)
	ex, _ := engine.NewExecutor(engine.Options{InstanceID: "req-1", Registry: workflows})
	defer ex.Close()
	enc := func(v any) []byte { b, _ := converter.Default.Encode(v); return b }

	ex.Execute([]history.Event{{Kind: history.WorkflowStarted, Name: "Approval", InboxID: "m1"}})
	out, _ := ex.Execute([]history.Event{{Kind: history.SignalReceived, Name: "approve", Args: [][]byte{enc("ann")}, InboxID: "m2"}})
	for _, ev := range out {
		fmt.Println(ev.Kind)
	}
	final, _ := ex.Final()
	var result string
	converter.Default.Decode(final.Result, &result)
	fmt.Println(result)
	// Output:
	// SignalReceived
	// TimerCanceled
	// WorkflowCompleted
	// approved by ann
}
