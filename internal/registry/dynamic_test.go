package registry_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

type OtherActivities struct{}

func (*OtherActivities) Activity2(ctx context.Context, n int) (int, error) { return -n, nil }

// Two structs with a method of the same name collide without a prefix and
// register side by side with one.
func TestPrefixedMethods(t *testing.T) {
	r := registry.New()
	require.NoError(t, registry.AddActivity(r, &Activities{}, "", ""))
	require.ErrorIs(t, registry.AddActivity(r, &OtherActivities{}, "", ""), registry.ErrAlreadyRegistered)
	require.NoError(t, registry.AddActivity(r, &OtherActivities{}, "", "other."))
	require.NoError(t, registry.AddActivity(r, Charge, "", "billing."))
	assert.Equal(t, []string{"Activity2", "ByValue", "billing.Charge", "other.Activity2"}, r.ActivityNames())
	require.ErrorContains(t, r.AddActivityMethods(Charge, "x."), "not a pointer to a struct")
}

func TestDynamicFallback(t *testing.T) {
	r := registry.New()
	_, ok := r.Activity("Nope")
	assert.False(t, ok)
	dynAct := func(ctx context.Context, name string, args converter.EncodedValues) (any, error) { return name, nil }
	dynWf := func(ctx workflow.Context, name string, args converter.EncodedValues) (any, error) { return name, nil }
	require.NoError(t, r.SetDynamicActivity(dynAct))
	require.NoError(t, r.SetDynamicWorkflow(dynWf))
	require.ErrorIs(t, r.SetDynamicActivity(dynAct), registry.ErrAlreadyRegistered)
	require.NoError(t, r.AddActivity(Charge, ""))

	fn, ok := r.Activity("Charge")
	require.True(t, ok)
	assert.NotPanics(t, func() { _ = fn.(func(context.Context, int) (string, error)) }, "a registered name wins")
	fn, ok = r.Activity("Nope")
	require.True(t, ok)
	assert.Equal(t, "Nope", fn.(*registry.Dynamic).Name)
	fn, ok = r.Workflow("AnyWorkflow")
	require.True(t, ok)
	assert.Equal(t, "AnyWorkflow", fn.(*registry.Dynamic).Name)
}
