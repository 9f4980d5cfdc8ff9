package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

type billing struct{}

func (*billing) Charge(ctx context.Context, cents int) (string, error) { return "ok", nil }

func goodWorkflow(ctx workflow.Context, s string) (int, error) { return 0, nil }

// The worker registers through the shared registry (internal/registry,
// tested there) and says which call failed.
func TestRegistration(t *testing.T) {
	r := registry.New()
	require.NoError(t, addWorkflow(r, goodWorkflow, nil))
	require.NoError(t, addWorkflow(r, goodWorkflow, []RegisterOption{WithName("Other")}))
	_, ok := r.Workflow("Other")
	assert.True(t, ok)
	require.NoError(t, addActivity(r, &billing{}, nil))
	err := addActivity(r, &billing{}, nil)
	require.ErrorIs(t, err, ErrAlreadyRegistered)
	assert.ErrorContains(t, err, "worker: RegisterActivity")
	err = addWorkflow(r, 42, nil)
	assert.ErrorContains(t, err, "worker: RegisterWorkflow: not a workflow function")
	err = addActivity(r, &billing{}, []RegisterOption{WithName("x")})
	assert.ErrorContains(t, err, "a name applies to a function")
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
