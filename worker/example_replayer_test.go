package worker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func Pack(ctx context.Context, order string) (string, error)  { return "packed " + order, nil }
func Check(ctx context.Context, order string) (string, error) { return "in stock", nil }

// ShipV1 is the code that ran.
func ShipV1(ctx workflow.Context, order string) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Pack, order).Get(ctx)
}

// ShipV2 checks stock first, without workflow.GetVersion: runs that
// packed under ShipV1 cannot replay on it.
func ShipV2(ctx workflow.Context, order string) (string, error) {
	if _, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Check, order).Get(ctx); err != nil {
		return "", err
	}
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Pack, order).Get(ctx)
}

// ExampleReplayer checks a change to workflow code against a history the
// old code recorded. In a test the history comes from a file saved with
// `wfctl history ID --json > testdata/ship.json` (Replayer.ReplayFile) or
// from NATS (Replayer.ReplayInstance); here it is recorded on the spot.
func ExampleReplayer() {
	recorded := recordShipV1()

	r := worker.NewReplayer(nil)
	if err := r.RegisterWorkflow(ShipV2, worker.WithName("Ship")); err != nil {
		panic(err)
	}
	err := r.Replay("order-7", "run-1", recorded)
	var nd *engine.NondeterminismError
	fmt.Println("non-deterministic:", errors.As(err, &nd))
	fmt.Println(err)
	// Output:
	// non-deterministic: true
	// replay of run "run-1" of instance "order-7": workflow "Ship" is not deterministic: at event 2 the history has ActivityScheduled "Pack" but the workflow code issued ActivityScheduled "Check"
}

// recordShipV1 runs ShipV1 on an executor, as a worker would, and returns
// the events it committed.
func recordShipV1() []history.Event {
	ex, _ := engine.NewExecutor(engine.Options{InstanceID: "order-7", ExecutionID: "run-1", Registry: engine.Workflows{"Ship": ShipV1}})
	defer ex.Close()
	arg, _ := converter.Default.Encode("o-7")
	result, _ := converter.Default.Encode("packed o-7")
	first, _ := ex.Execute([]history.Event{{Kind: history.WorkflowStarted, Name: "Ship", Args: [][]byte{arg}, InboxID: "start"}})
	second, _ := ex.Execute([]history.Event{{Kind: history.ActivityCompleted, ScheduleID: 2, Result: result, InboxID: "act"}})
	return append(first, second...)
}
