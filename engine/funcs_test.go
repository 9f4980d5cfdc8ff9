package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/workflow"
)

type Activities struct{}

func (a *Activities) Activity2(ctx context.Context, n int) (int, error) { return n, nil }

func (a Activities) ByValue(ctx context.Context) error { return nil }

func Generic[T any](ctx context.Context, v T) (T, error) { return v, nil }

func TestFuncName(t *testing.T) {
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
		{"not a function", "Charge", "", "engine: string is not a function"},
		{"nil function", (func())(nil), "", "engine: nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := engine.FuncName(tt.fn)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidate(t *testing.T) {
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
			check(engine.ValidateWorkflow(tt.fn), tt.workflow)
			check(engine.ValidateActivity(tt.fn), tt.activity)
		})
	}
}

func TestNewWorkflowsRejectsDuplicatesAndNonWorkflows(t *testing.T) {
	_, err := engine.NewWorkflows(OrderWorkflow, OrderWorkflow)
	assert.EqualError(t, err, `engine: two workflows named "OrderWorkflow"`)
	_, err = engine.NewWorkflows(Charge)
	assert.ErrorContains(t, err, "engine: not a workflow function")
}

func TestDecodeArgs(t *testing.T) {
	enc := func(v any) []byte { b, _ := engine.DefaultConverter.Encode(v); return b }
	vals, err := engine.DecodeArgs(Charge, [][]byte{enc(int64(5))}, nil)
	require.NoError(t, err)
	require.Len(t, vals, 1)
	assert.Equal(t, 5, vals[0].Interface())
	_, err = engine.DecodeArgs(Charge, nil, nil)
	assert.EqualError(t, err, "takes 1 arguments (int), got 0")
	variadic := func(ctx context.Context, prefix string, rest ...int) error { return nil }
	vals, err = engine.DecodeArgs(variadic, [][]byte{enc("p"), enc(1), enc(2)}, nil)
	require.NoError(t, err)
	assert.Equal(t, []any{"p", 1, 2}, []any{vals[0].Interface(), vals[1].Interface(), vals[2].Interface()})
}
