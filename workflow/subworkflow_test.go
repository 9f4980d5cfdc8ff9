package workflow_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func Child(ctx workflow.Context, in string) (int, error) { return len(in), nil }

func Parent(ctx workflow.Context) ([]string, error) {
	var tr trace
	n, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, Child, "abc").Get(ctx)
	tr.add("derived id: " + itoa(n) + " " + errString(err))
	_, err = workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "child-1", Queue: "other"}, "Child", "x").Get(ctx)
	tr.add("taken: " + btoa(errors.Is(err, workflow.ErrInstanceAlreadyExists)))
	_, err = workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, Child, 1).Get(ctx)
	tr.add(errString(err))
	_, err = workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, Child, "x").Get(ctx)
	tr.add(errString(err))
	return tr, nil
}

func TestSubWorkflow(t *testing.T) {
	r := enginetest.New(t, engine.Options{ExecutionID: "run-7"}, Parent, Child)
	out := r.Do(r.Started("Parent"))
	child := out[len(out)-1]
	require.Equal(t, history.SubWorkflowScheduled, child.Kind)
	assert.Equal(t, "Child", child.Name)
	assert.Equal(t, "run-7-2", child.InstanceID, "derived from the run and the event")
	assert.Equal(t, "q1", child.Queue, "the parent's queue")
	assert.Equal(t, "abc", enginetest.Decode[string](r, child.Args[0]))
	out = r.Do(r.SubCompleted(child.ID, 3))
	child = out[len(out)-1]
	assert.Equal(t, "child-1", child.InstanceID)
	assert.Equal(t, "other", child.Queue)
	r.Do(r.SubFailed(child.ID, &history.Failure{Type: "InstanceAlreadyExists", Message: "child-1 exists"}))
	assert.Equal(t, []string{
		"derived id: 3 <nil>",
		"taken: true",
		"workflow.CreateSubWorkflowInstance: Child: argument 1: int does not fit string",
		"workflow.CreateSubWorkflowInstance: Child returns int, which does not fit the result type string",
	}, enginetest.Result[[]string](r))
	r.ReplayCheck()
}
