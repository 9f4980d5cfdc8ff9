package tester_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// SendEmail sends an email (for real, in production).
func SendEmail(ctx context.Context, to, subject string) (string, error) {
	activity.RecordHeartbeat(ctx, "connecting")
	return "message-id-1", nil
}

// Reminder waits 30 days, unless told it is paid, then sends a reminder.
func Reminder(ctx workflow.Context, to string) (string, error) {
	paid := false
	workflow.Select(ctx,
		workflow.Await(workflow.ScheduleTimer(ctx, 30*24*time.Hour), func(workflow.Context, workflow.Future[struct{}]) {}),
		workflow.Receive(workflow.NewSignalChannel[string](ctx, "paid"), func(workflow.Context, string, bool) { paid = true }),
	)
	if paid {
		return "no reminder needed", nil
	}
	id, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, SendEmail, to, "Your invoice").Get(ctx)
	if err != nil {
		return "", err
	}
	return "reminded: " + id, nil
}

// The workflow sleeps for 30 days of mock time, which takes no wall time;
// its activity is mocked. In a test, pass tester.WithTB(t) so that a
// failure of the test itself (an unexpected activity call, say) fails t.
func ExampleNewWorkflowTester() {
	start := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	tst := tester.NewWorkflowTester[string](Reminder, tester.WithStartTime(start))
	tst.OnActivity(SendEmail, mock.Anything, "ann@example.com", "Your invoice").Return("mock-id", nil)
	tst.Execute("ann@example.com")

	res, err := tst.WorkflowResult()
	fmt.Println(res, err)
	fmt.Println("finished:", tst.WorkflowFinished(), "on", tst.Now().Format(time.DateOnly))
	// Output:
	// reminded: mock-id <nil>
	// finished: true on 2025-01-31
}

// A callback in mock time signals the workflow before its timer fires.
func ExampleWorkflowTester_ScheduleCallback() {
	start := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	tst := tester.NewWorkflowTester[string](Reminder, tester.WithStartTime(start))
	tst.ScheduleCallback(48*time.Hour, func() { tst.SignalWorkflow("paid", "bank transfer") })
	tst.Execute("bob@example.com")

	res, err := tst.WorkflowResult()
	fmt.Println(res, err)
	fmt.Println("finished on", tst.Now().Format(time.DateOnly))
	// Output:
	// no reminder needed <nil>
	// finished on 2025-01-03
}

// An activity is unit-tested on its own, with the context a worker gives
// it.
func ExampleActivityEnv() {
	env := tester.NewActivityEnv()
	v, err := env.ExecuteActivity(SendEmail, "ann@example.com", "Hello")
	var id string
	if err == nil {
		err = v.Get(&id)
	}
	fmt.Println(id, err)
	fmt.Println("heartbeats:", env.Heartbeats())
	// Output:
	// message-id-1 <nil>
	// heartbeats: [[connecting]]
}
