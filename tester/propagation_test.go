package tester_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

type tenantKey struct{}

// tenantPropagator carries the tenant under header key "tenant".
type tenantPropagator struct{}

func (tenantPropagator) Inject(ctx context.Context, h map[string][]byte) error {
	if t, ok := ctx.Value(tenantKey{}).(string); ok {
		h["tenant"] = []byte(t)
	}
	return nil
}

func (tenantPropagator) Extract(ctx context.Context, h map[string][]byte) (context.Context, error) {
	if t, ok := h["tenant"]; ok {
		return context.WithValue(ctx, tenantKey{}, string(t)), nil
	}
	return ctx, nil
}

func (tenantPropagator) InjectFromWorkflow(ctx workflow.Context, h map[string][]byte) error {
	if t, ok := ctx.Value(tenantKey{}).(string); ok {
		h["tenant"] = []byte(t)
	}
	return nil
}

func (tenantPropagator) ExtractToWorkflow(ctx workflow.Context, h map[string][]byte) (workflow.Context, error) {
	if t, ok := h["tenant"]; ok {
		return workflow.WithValue(ctx, tenantKey{}, string(t)), nil
	}
	return ctx, nil
}

func TenantActivity(ctx context.Context) (string, error) {
	t, _ := ctx.Value(tenantKey{}).(string)
	return "activity: " + t, nil
}

func TenantChild(ctx workflow.Context) (string, error) {
	t, _ := ctx.Value(tenantKey{}).(string)
	return "child: " + t, nil
}

// TenantWorkflow sets the tenant in its context; its activity and child
// see it through the propagator.
func TenantWorkflow(ctx workflow.Context) ([]string, error) {
	ctx = workflow.WithValue(ctx, tenantKey{}, "acme")
	a, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, TenantActivity).Get(ctx)
	if err != nil {
		return nil, err
	}
	c, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, TenantChild).Get(ctx)
	return []string{a, c}, err
}

func TestContextPropagationInTheTester(t *testing.T) {
	for _, tt := range []struct {
		name  string
		props []workflow.ContextPropagator
		want  []string
	}{
		{"with the propagator", []workflow.ContextPropagator{tenantPropagator{}}, []string{"activity: acme", "child: acme"}},
		{"without", nil, []string{"activity: ", "child: "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[[]string](TenantWorkflow, tester.WithTB(t), tester.WithContextPropagators(tt.props...), tester.WithReplayCheck())
			tst.RegisterActivity(TenantActivity)
			tst.RegisterWorkflow(TenantChild)
			tst.Execute()
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
		})
	}
}
