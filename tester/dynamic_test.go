package tester_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

type Billing struct{}

func (*Billing) Notify(ctx context.Context, who string) (string, error) { return "billing " + who, nil }

type Shipping struct{}

func (*Shipping) Notify(ctx context.Context, who string) (string, error) {
	return "shipping " + who, nil
}

// CallsByName calls prefixed methods by name, an activity and a child no
// one registered (the catch-alls take them).
func CallsByName(ctx workflow.Context) ([]string, error) {
	var out []string
	for _, name := range []string{"billing.Notify", "shipping.Notify", "Shout"} {
		s, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, name, "ann").Get(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	s, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, "Echo", "x", 2).Get(ctx)
	return append(out, s), err
}

func TestDynamicRegistrationInTheTester(t *testing.T) {
	tst := tester.NewWorkflowTester[[]string](CallsByName, tester.WithTB(t), tester.WithReplayCheck())
	tst.RegisterActivity(&Billing{}, tester.WithNamePrefix("billing."))
	tst.RegisterActivity(&Shipping{}, tester.WithNamePrefix("shipping."))
	tst.RegisterDynamicActivity(func(ctx context.Context, name string, args converter.EncodedValues) (any, error) {
		var who string
		if err := args.Get(0, &who); err != nil {
			return nil, err
		}
		return strings.ToUpper(name + " " + who), nil
	})
	tst.RegisterDynamicWorkflow(func(ctx workflow.Context, name string, args converter.EncodedValues) (any, error) {
		var s string
		var n int
		if err := args.Get(0, &s); err != nil {
			return nil, err
		}
		if err := args.Get(1, &n); err != nil {
			return nil, err
		}
		return fmt.Sprintf("%s(%s×%d, %d args)", name, s, n, args.Len()), nil
	})
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, []string{"billing ann", "shipping ann", "SHOUT ANN", "Echo(x×2, 2 args)"}, res)
}
