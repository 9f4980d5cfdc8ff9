package client

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// TestInstanceSentinelsAreOneValue checks that "already exists" and "not
// found" are one error each: an error of the storage layer matches the
// client's and the workflow package's names, and the other way round, so
// no caller has to check two sentinels.
func TestInstanceSentinelsAreOneValue(t *testing.T) {
	e := newEnv(t)

	_, err := e.b.GetInstance(e.ctx, "nobody")
	require.Error(t, err)
	for _, target := range []error{ErrInstanceNotFound, workflow.ErrInstanceNotFound, streams.ErrInstanceNotFound} {
		assert.ErrorIs(t, err, target)
	}
	assert.False(t, errors.Is(err, ErrInstanceAlreadyExists))
	assert.Equal(t, `streams: workflow instance not found: "nobody"`, err.Error())

	_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "taken"}, Greet, "a")
	require.NoError(t, err)
	rec, err := e.b.GetInstance(e.ctx, "taken")
	require.NoError(t, err)
	_, err = e.b.CreateInstance(e.ctx, rec)
	for _, target := range []error{ErrInstanceAlreadyExists, workflow.ErrInstanceAlreadyExists, streams.ErrInstanceExists} {
		assert.ErrorIs(t, err, target)
	}
	assert.Equal(t, `streams: workflow instance already exists: "taken"`, err.Error())

	_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "taken"}, Greet, "b")
	assert.ErrorIs(t, err, streams.ErrInstanceExists)
	assert.Contains(t, err.Error(), `client: workflow instance already exists: "taken"`)
}
