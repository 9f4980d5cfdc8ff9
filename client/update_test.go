package client

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

func TestUpdateWorkflowBadInput(t *testing.T) {
	e := newEnv(t)
	inst := &workflow.Instance{InstanceID: "cart-1"}
	for _, tt := range []struct {
		name string
		opts UpdateOptions
		is   error
		text string
	}{
		{"nil instance", UpdateOptions{Name: "add"}, nil, "nil *workflow.Instance"},
		{"empty name", UpdateOptions{Instance: inst}, nil, "empty update name"},
		{"control character in the ID", UpdateOptions{Instance: inst, Name: "add", UpdateID: "a\nb"}, streams.ErrInvalidName, "control character"},
		{"unknown instance", UpdateOptions{Instance: &workflow.Instance{InstanceID: "nope"}, Name: "add"}, ErrInstanceNotFound, "nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UpdateWorkflow[int](e.ctx, e.c, tt.opts, 1)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Contains(t, err.Error(), tt.text)
		})
	}
	_, err := e.c.SignalWithStartWorkflow(e.ctx, WorkflowInstanceOptions{}, Greet, []any{"x"}, "s", 1)
	assert.ErrorContains(t, err, "empty instance ID")
	_, err = e.c.SignalWithStartWorkflow(e.ctx, WorkflowInstanceOptions{InstanceID: "x"}, Greet, []any{"x"}, "", 1)
	assert.ErrorContains(t, err, "empty signal name")
	_, _, err = UpdateWithStartWorkflow[int](e.ctx, e.c, WorkflowInstanceOptions{}, Greet, []any{"x"}, UpdateOptions{Name: "u"})
	assert.ErrorContains(t, err, "empty instance ID")
}

// A finished instance answers an update with ErrInstanceFinished without
// sending anything.
func TestUpdateFinishedInstance(t *testing.T) {
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "done-1"}, Greet, "x")
	require.NoError(t, err)
	rec, err := e.b.GetInstance(e.ctx, "done-1")
	require.NoError(t, err)
	rec.Status = streams.StatusCompleted
	_, err = e.b.UpdateInstance(e.ctx, rec, rec.Revision)
	require.NoError(t, err)
	_, err = UpdateWorkflow[int](e.ctx, e.c, UpdateOptions{Instance: inst, Name: "add"}, 1)
	require.ErrorIs(t, err, ErrInstanceFinished)
}
