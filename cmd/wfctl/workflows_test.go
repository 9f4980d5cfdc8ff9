package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// The workflows and activities the CLI tests run.

// Shipment is a struct argument reached from a JSON object by field name.
type Shipment struct {
	ID       string
	Qty      int
	Weight   float64
	Rush     bool
	Tags     []string
	Sizes    []int
	To       Address
	Counts   map[string]int
	Big      int64
	Unsigned uint64
	Ratio    float32
	Note     *string
}

// Address is nested in Shipment.
type Address struct {
	City string
	Zip  int
}

// EchoShipment returns its argument, as the worker decoded it.
func EchoShipment(ctx workflow.Context, s Shipment) (Shipment, error) { return s, nil }

// Mixed takes several plain arguments and spells them out.
func Mixed(ctx workflow.Context, n int, f float64, b bool, xs []int, s string) (string, error) {
	return fmt.Sprintf("%d|%g|%t|%v|%s", n, f, b, xs, s), nil
}

// Greet greets through an activity.
func Greet(ctx workflow.Context, name string) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Hello, name).Get(ctx)
}

// Hello is Greet's activity.
func Hello(ctx context.Context, name string) (string, error) { return "hello, " + name, nil }

// Approval waits for the signal "approve" (the approver's name), answers
// the queries "state" and "echo", and ends as canceled when canceled.
func Approval(ctx workflow.Context) (string, error) {
	state := "waiting"
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) { return state, nil }); err != nil {
		return "", err
	}
	if err := workflow.SetQueryHandler(ctx, "echo", func(s string, n int) (string, error) {
		return fmt.Sprintf("%s x%d", s, n), nil
	}); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, "set-state", func(ctx workflow.Context, s string) (string, error) {
		state = s
		return "state is " + s, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, s string) error {
		if s == "" {
			return errors.New("the state must not be empty")
		}
		return nil
	}}); err != nil {
		return "", err
	}
	ch := workflow.NewSignalChannel[string](ctx, "approve")
	var by string
	workflow.Select(ctx,
		workflow.Receive(ch, func(_ workflow.Context, v string, _ bool) { by = v }),
		workflow.Receive(ctx.Done(), func(workflow.Context, struct{}, bool) {}),
	)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	state = "approved"
	return "approved by " + by, nil
}

// Stepper takes one step per "next" signal: it doubles the signal's value
// in an activity, and returns the sum after n steps.
func Stepper(ctx workflow.Context, n int) (int, error) {
	ch := workflow.NewSignalChannel[int](ctx, "next")
	sum := 0
	for range n {
		v, _ := ch.Receive(ctx)
		d, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Double, v).Get(ctx)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// Double is Stepper's activity.
func Double(ctx context.Context, v int) (int, error) { return 2 * v, nil }

// Relay waits for a "go" signal, then continues as new until its run
// number reaches last.
func Relay(ctx workflow.Context, run, last int) (int, error) {
	ch := workflow.NewSignalChannel[struct{}](ctx, "go")
	ch.Receive(ctx)
	if run < last {
		return 0, workflow.ContinueAsNew(ctx, run+1, last)
	}
	return run, nil
}

// Counter continues as new until n reaches 2, without waiting.
func Counter(ctx workflow.Context, n int) (int, error) {
	if n < 2 {
		return 0, workflow.ContinueAsNew(ctx, n+1)
	}
	return n, nil
}

// Rejects fails with a typed error.
func Rejects(ctx workflow.Context) error {
	return workflow.NewError("Rejected", "order rejected")
}

// registerTestWorkflows registers the test workflows with w.
func registerTestWorkflows(t *testing.T, w *worker.Worker) {
	t.Helper()
	for _, wf := range []any{EchoShipment, Mixed, Greet, Approval, Stepper, Relay, Counter, Rejects, Pay, AwaitPayment} {
		require.NoError(t, w.RegisterWorkflow(wf))
	}
	for _, act := range []any{Hello, Double} {
		require.NoError(t, w.RegisterActivity(act))
	}
}

// Payment is reached from JSON by its json tags and by field names in any
// case.
type Payment struct {
	Amount int `json:"amount"`
	PaidBy string
}

// Pay returns its argument, as the worker decoded it.
func Pay(ctx workflow.Context, p Payment) (Payment, error) { return p, nil }

// AwaitPayment returns the value of its first "pay" signal.
func AwaitPayment(ctx workflow.Context) (Payment, error) {
	p, _ := workflow.NewSignalChannel[Payment](ctx, "pay").Receive(ctx)
	return p, ctx.Err()
}
