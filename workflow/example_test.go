package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// Charge is an activity: it talks to the outside world.
func Charge(ctx context.Context, order string, cents int) (string, error) {
	return "receipt-" + order, nil
}

// Checkout charges an order; the examples run it in the tester.
func Checkout(ctx workflow.Context, order string) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Charge, order, 1250).Get(ctx)
}

// A workflow calls an activity and waits for its result. In a test the
// activity is mocked (or registered to run for real).
func ExampleExecuteActivity() {
	tst := tester.NewWorkflowTester[string](Checkout)
	tst.OnActivity(Charge, mock.Anything, "o-7", 1250).Return("receipt-o-7", nil)
	tst.Execute("o-7")
	fmt.Println(tst.WorkflowResult())
	// Output: receipt-o-7 <nil>
}

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

// Select waits for whichever comes first: here a signal, sent an hour in,
// beats a one-day timer. The tester's clock is mock time.
func ExampleSelect() {
	tst := tester.NewWorkflowTester[string](Approval)
	tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("approve", "ann") })
	tst.Execute()
	fmt.Println(tst.WorkflowResult())

	expired := tester.NewWorkflowTester[string](Approval)
	expired.Execute() // nobody signals: the timer fires after a day of mock time
	fmt.Println(expired.WorkflowResult())
	// Output:
	// approved by ann <nil>
	// expired <nil>
}

// Reminder sleeps, then checks whether it was canceled meanwhile.
func Reminder(ctx workflow.Context) (string, error) {
	if err := workflow.Sleep(ctx, 7*24*time.Hour); err != nil {
		return "", err // workflow.Canceled when the run was canceled
	}
	return "reminded", nil
}

// A canceled workflow sees workflow.Canceled from what it waits on.
func ExampleSleep() {
	tst := tester.NewWorkflowTester[string](Reminder)
	tst.ScheduleCallback(24*time.Hour, tst.CancelWorkflow)
	tst.Execute()
	_, err := tst.WorkflowResult()
	fmt.Println(errors.Is(err, workflow.Canceled))
	// Output: true
}

// A workflow's own error type reaches the caller with its type name.
func ExampleNewError() {
	refuse := func(ctx workflow.Context) error {
		return workflow.NewError("OutOfStock", "no pens left")
	}
	tst := tester.NewWorkflowTester[struct{}](refuse)
	tst.Execute()
	_, err := tst.WorkflowResult()
	var wfErr *workflow.Error
	if errors.As(err, &wfErr) {
		fmt.Println(wfErr.Type, "-", wfErr.Message)
	}
	// Output: OutOfStock - no pens left
}
