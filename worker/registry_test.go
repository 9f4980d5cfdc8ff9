package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/workflow"
)

type billing struct{}

func (*billing) Charge(ctx context.Context, cents int) (string, error) { return "ok", nil }
func (*billing) Refund(ctx context.Context) error                      { return nil }

type empty struct{}

type badMethods struct{}

func (*badMethods) NoContext(x int) error { return nil }

func goodWorkflow(ctx workflow.Context, s string) (int, error) { return 0, nil }

func TestRegistration(t *testing.T) {
	r := newRegistry()
	require.NoError(t, r.addWorkflow(goodWorkflow, nil))
	require.NoError(t, r.addWorkflow(goodWorkflow, []RegisterOption{WithName("Other")}))
	_, ok := r.Workflow("goodWorkflow")
	assert.True(t, ok)
	_, ok = r.Workflow("Other")
	assert.True(t, ok)
	require.ErrorIs(t, r.addWorkflow(goodWorkflow, nil), ErrAlreadyRegistered)

	require.NoError(t, r.addActivity(&billing{}, nil))
	for _, name := range []string{"Charge", "Refund"} {
		_, ok := r.activity(name)
		assert.True(t, ok, name)
	}
	require.ErrorIs(t, r.addActivity(&billing{}, nil), ErrAlreadyRegistered)
	require.NoError(t, r.addActivity(add, []RegisterOption{WithName("Sum")}))
	_, ok = r.activity("Sum")
	assert.True(t, ok)

	tests := []struct {
		name     string
		register func() error
		contains string
	}{
		{"workflow without context", func() error { return r.addWorkflow(func(s string) error { return nil }, nil) }, "RegisterWorkflow"},
		{"workflow not a func", func() error { return r.addWorkflow(42, nil) }, "RegisterWorkflow"},
		{"activity without error result", func() error { return r.addActivity(func(ctx context.Context) int { return 1 }, nil) }, "RegisterActivity"},
		{"nil activity", func() error { return r.addActivity(nil, nil) }, "nil activity"},
		{"struct without methods", func() error { return r.addActivity(&empty{}, nil) }, "no exported methods"},
		{"struct with a bad method", func() error { return r.addActivity(&badMethods{}, nil) }, "method badMethods.NoContext"},
		{"WithName on a struct", func() error { return r.addActivity(&billing{}, []RegisterOption{WithName("x")}) }, "WithName applies to a function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.register()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.contains)
		})
	}
}

func TestExecutorCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newExecutorCache(2)
	mk := func(id string) *cachedRun {
		ex, err := engine.NewExecutor(engine.Options{InstanceID: id, ExecutionID: "r", Registry: engine.Workflows{}})
		require.NoError(t, err)
		return &cachedRun{key: runKey{id, "r"}, ex: ex}
	}
	a, b, d := mk("a"), mk("b"), mk("d")
	c.put(a)
	c.put(b)
	require.Same(t, a, c.take(runKey{"a", "r"}), "take returns the cached run")
	assert.Nil(t, c.take(runKey{"a", "r"}), "and removes it")
	c.put(a) // a is now the most recent
	c.put(d) // evicts b
	assert.Equal(t, 2, c.len())
	assert.Nil(t, c.take(runKey{"b", "r"}))
	_, err := b.ex.Execute(nil)
	assert.ErrorIs(t, err, engine.ErrClosed, "an evicted executor is closed")
	c.clear()
	assert.Equal(t, 0, c.len())

	off := newExecutorCache(0)
	e := mk("e")
	off.put(e)
	assert.Nil(t, off.take(runKey{"e", "r"}), "a disabled cache keeps nothing")
}

func TestBackoff(t *testing.T) {
	assert.Equal(t, 200*time.Millisecond, backoff(200*time.Millisecond, 1))
	assert.Equal(t, 800*time.Millisecond, backoff(200*time.Millisecond, 3))
	assert.Equal(t, time.Minute, backoff(200*time.Millisecond, 50))
}
