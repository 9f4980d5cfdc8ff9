package registry_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

type Activities struct{}

func (a *Activities) Activity2(ctx context.Context, n int) (int, error) { return n, nil }

func (a Activities) ByValue(ctx context.Context) error { return nil }

type badMethods struct{}

func (*badMethods) NoContext(x int) error { return nil }

type empty struct{}

func Generic[T any](ctx context.Context, v T) (T, error) { return v, nil }

func Charge(ctx context.Context, cents int) (string, error) { return "ok", nil }

func OrderWorkflow(ctx workflow.Context, id string) (int, error) { return 0, nil }

func OtherWorkflow(ctx workflow.Context) error { return nil }

func TestName(t *testing.T) {
	var a *Activities
	tests := []struct {
		name string
		fn   any
		want string
		err  string
	}{
		{"plain function", Charge, "Charge", ""},
		{"workflow", OrderWorkflow, "OrderWorkflow", ""},
		{"method value on a nil pointer", a.Activity2, "Activity2", ""},
		{"method value on a value", Activities{}.ByValue, "ByValue", ""},
		{"method expression", (*Activities).Activity2, "Activity2", ""},
		{"generic function", Generic[int], "Generic", ""},
		{"closure", func(ctx context.Context) error { return nil }, "", "is an anonymous function"},
		{"not a function", "Charge", "", "string is not a function"},
		{"nil function", (func())(nil), "", "nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := registry.Name(tt.fn)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		fn       any
		workflow string
		activity string
	}{
		{"workflow with result", OrderWorkflow, "", "must be a context.Context"},
		{"workflow, error only", func(workflow.Context, int) error { return nil }, "", "must be a context.Context"},
		{"activity", Charge, "must be a workflow.Context", ""},
		{"method activity", (&Activities{}).Activity2, "must be a workflow.Context", ""},
		{"no context", func(int) error { return nil }, "must be a workflow.Context", "must be a context.Context"},
		{"no error", func(context.Context) int { return 0 }, "must be a workflow.Context", "must return error or (T, error)"},
		{"three results", func(workflow.Context) (int, int, error) { return 0, 0, nil }, "must return error or (T, error)", "must be a context.Context"},
		{"error not last", func(workflow.Context) (error, int) { return nil, 0 }, "must return error or (T, error)", "must be a context.Context"},
		{"not a function", 3, "int is not a function", "int is not a function"},
		{"nil", nil, "<nil> is not a function", "<nil> is not a function"},
		{"nil workflow func", (func(workflow.Context) error)(nil), "nil workflow function", "must be a context.Context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(err error, want string) {
				t.Helper()
				if want == "" {
					assert.NoError(t, err)
				} else {
					assert.ErrorContains(t, err, want)
				}
			}
			check(registry.CheckWorkflow(tt.fn), tt.workflow)
			check(registry.CheckActivity(tt.fn), tt.activity)
		})
	}
}

func TestRegistry(t *testing.T) {
	r := registry.New()
	name, err := r.AddWorkflow(OrderWorkflow, "")
	require.NoError(t, err)
	assert.Equal(t, "OrderWorkflow", name)
	_, err = r.AddWorkflow(OrderWorkflow, "")
	require.NoError(t, err, "the same function again under the same name changes nothing")
	_, err = r.AddWorkflow(OtherWorkflow, "OrderWorkflow")
	require.ErrorIs(t, err, registry.ErrAlreadyRegistered, "another function under a taken name")
	_, err = r.AddWorkflow(OrderWorkflow, "Other")
	require.NoError(t, err, "one function under two names")
	fn, ok := r.Workflow("Other")
	require.True(t, ok)
	assert.NotNil(t, fn)
	assert.Equal(t, []string{"OrderWorkflow", "Other"}, r.WorkflowNames())

	require.NoError(t, r.AddActivity(&Activities{}, ""))
	assert.Equal(t, []string{"Activity2", "ByValue"}, r.ActivityNames())
	require.ErrorIs(t, r.AddActivity(&Activities{}, ""), registry.ErrAlreadyRegistered,
		"a struct's methods again: the receivers may differ")
	require.NoError(t, r.AddActivity(Charge, "Sum"))
	_, ok = r.Activity("Sum")
	assert.True(t, ok)

	tests := []struct {
		name     string
		register func() error
		contains string
	}{
		{"workflow without context", func() error { _, err := r.AddWorkflow(func(s string) error { return nil }, ""); return err }, "not a workflow function"},
		{"workflow not a func", func() error { _, err := r.AddWorkflow(42, ""); return err }, "not a workflow function"},
		{"anonymous workflow without a name", func() error {
			_, err := r.AddWorkflow(func(workflow.Context) error { return nil }, "")
			return err
		}, "register it under a name"},
		{"activity without error result", func() error { return r.AddActivity(func(ctx context.Context) int { return 1 }, "") }, "not an activity function"},
		{"nil activity", func() error { return r.AddActivity(nil, "") }, "nil activity"},
		{"struct without methods", func() error { return r.AddActivity(&empty{}, "") }, "no exported methods"},
		{"struct with a bad method", func() error { return r.AddActivity(&badMethods{}, "") }, "method NoContext"},
		{"a name for a struct", func() error { return r.AddActivity(&Activities{}, "x") }, "a name applies to a function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.register()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.contains)
		})
	}
}

func TestNewWorkflows(t *testing.T) {
	r, err := registry.NewWorkflows(OrderWorkflow, OtherWorkflow)
	require.NoError(t, err)
	assert.Equal(t, []string{"OrderWorkflow", "OtherWorkflow"}, r.WorkflowNames())
	_, err = registry.NewWorkflows(Charge)
	assert.ErrorContains(t, err, "not a workflow function")
}
