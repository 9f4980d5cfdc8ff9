// Command timers shows durable timers: a reminder workflow sleeps, sends
// reminders on a schedule, and races a timer against a signal. The timers
// are kept by the NATS server, so they fire even if every worker is down
// at the time.
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

// Remind sleeps between reminders; a "done" signal ends it early.
func Remind(ctx workflow.Context, every time.Duration, times int) ([]string, error) {
	done := workflow.NewSignalChannel[string](ctx, "done")
	var log []string
	for i := 1; i <= times; i++ {
		stopped := false
		workflow.Select(ctx,
			workflow.Await(workflow.ScheduleTimer(ctx, every), func(ctx workflow.Context, _ workflow.Future[struct{}]) {
				log = append(log, fmt.Sprintf("reminder %d", i))
			}),
			workflow.Receive(done, func(ctx workflow.Context, by string, _ bool) {
				log = append(log, "done, said "+by)
				stopped = true
			}),
		)
		if stopped {
			break
		}
	}
	return log, nil
}

func main() {
	env := setup.Start("timers", func(w *worker.Worker) error { return w.RegisterWorkflow(Remind) })
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	start := time.Now()
	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Remind, 300*time.Millisecond, 3)
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.GetWorkflowResult[[]string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v after %s\n", res, time.Since(start).Round(10*time.Millisecond))

	// The same workflow stopped early by a signal.
	inst, err = env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Remind, time.Hour, 3)
	if err != nil {
		log.Fatal(err)
	}
	if err := env.Client.SignalWorkflow(ctx, inst.InstanceID, "done", "ann"); err != nil {
		log.Fatal(err)
	}
	res, err = client.GetWorkflowResult[[]string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res)
}
