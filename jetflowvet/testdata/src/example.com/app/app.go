// Package app's workflows call helpers of other packages.
package app

import (
	"context"
	"time"

	"example.com/acts"
	"example.com/helper"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func Chain(ctx workflow.Context) {
	_ = helper.F()            // want `calls helper.F → helper.g → deep.H → time.Now, not deterministic in workflow code: use workflow.Now\(ctx\)`
	_ = helper.Pure(1, 2)     // deterministic
	_ = helper.Clock{}.Read() // want `calls helper.Clock.Read → time.Now`
	var r helper.Reader = helper.Clock{}
	_ = r.Read()          // an interface call: not followed
	_ = helper.Stamp()    // its clock read is silenced where it is
	_ = helper.Recurse(3) // want `calls helper.Recurse → time.Now`
	_ = local()           // want `calls app.local → app.localDeeper → time.Now`
	_ = localDeeper()     //jetflowvet:ignore a suppressed call chain
}

func local() time.Time       { return localDeeper() } // want local:`nondeterministic`
func localDeeper() time.Time { return time.Now() }    // want localDeeper:`nondeterministic`

// Registered has no workflow.Context parameter, but it is registered as a
// workflow, so it is workflow code.
func Registered() time.Time {
	return time.Now() // want `time.Now in workflow code`
}

// Started is started as a workflow by a client.
func Started(in string) time.Time {
	return time.Now() // want `time.Now in workflow code`
}

// Scheduled is started by a schedule.
func Scheduled() time.Time {
	return time.Now() // want `time.Now in workflow code`
}

// Tested is run by the tester.
func Tested() time.Time {
	return time.Now() // want `time.Now in workflow code`
}

// Child is started as a sub-workflow.
func Child() time.Time {
	return time.Now() // want `time.Now in workflow code`
}

// Parent starts Child.
func Parent(ctx workflow.Context) {
	_, _ = workflow.CreateSubWorkflowInstance[time.Time](ctx, workflow.SubWorkflowOptions{}, Child).Get(ctx)
}

// NotRegistered looks like the others but nothing starts it.
func NotRegistered() time.Time { return time.Now() } // want NotRegistered:`nondeterministic`

func Main(w *worker.Worker, c *client.Client) {
	_ = w.RegisterWorkflow(Registered)
	_ = w.RegisterActivity(&acts.Activities{})
	_ = w.RegisterActivity(acts.Fetch)
	_, _ = c.CreateWorkflowInstance(context.Background(), client.WorkflowInstanceOptions{}, Started, "x")
	_ = c.CreateSchedule(context.Background(), client.ScheduleOptions{Workflow: Scheduled})
	_ = tester.NewWorkflowTester[time.Time](Tested)
}

// CallsActivities calls activities as functions.
func CallsActivities(ctx workflow.Context, a *acts.Activities) {
	_, _ = a.Greet(context.Background(), "x")    // want `activity acts.Activities.Greet called as a function`
	_, _ = acts.Fetch(context.Background(), "k") // want `activity acts.Fetch called as a function`
	_, _ = acts.Executed(context.Background())   // want `activity acts.Executed called as a function`
	_, _ = workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, a.Greet, "x").Get(ctx)
}
