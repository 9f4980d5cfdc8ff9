// Command subworkflows shows a parent workflow starting children in
// parallel, collecting their results, and handling a child's failure.
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

// Ship ships one parcel; parcel 0 cannot be shipped.
func Ship(ctx workflow.Context, parcel int) (string, error) {
	if parcel == 0 {
		return "", workflow.NewError("NoAddress", "parcel 0 has no address")
	}
	return fmt.Sprintf("parcel %d shipped", parcel), nil
}

// Order ships its parcels as sub-workflows, in parallel.
func Order(ctx workflow.Context, parcels []int) ([]string, error) {
	info := workflow.GetInfo(ctx)
	futures := make([]workflow.Future[string], len(parcels))
	for i, p := range parcels {
		futures[i] = workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{
			InstanceID: fmt.Sprintf("%s-parcel-%d", info.InstanceID, p),
		}, Ship, p)
	}
	var out []string
	for _, f := range futures {
		r, err := f.Get(ctx)
		var werr *workflow.Error
		if errors.As(err, &werr) {
			r = "failed: " + werr.Type + ": " + werr.Message
		} else if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func main() {
	env := setup.Start("subworkflows", func(w *worker.Worker) error {
		return errors.Join(w.RegisterWorkflow(Order), w.RegisterWorkflow(Ship))
	})
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: fmt.Sprintf("order-%d", time.Now().UnixNano())}, Order, []int{1, 2, 0})
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.GetWorkflowResult[[]string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range res {
		fmt.Println(line)
	}
}
