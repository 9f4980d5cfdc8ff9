package client

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

func TestQueryWorkflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "q-1", Queue: "orders"}, Greet, "ann")
	require.NoError(t, err)

	// A stub worker: "status" answers with the instance, run and the
	// first argument; "boom" fails; anything else is unknown.
	requests := make(chan *streams.QueryRequest, 16)
	e.queryStub("orders", func(req *streams.QueryRequest) *streams.QueryResponse {
		requests <- req
		switch req.Name {
		case "status":
			var n int
			if len(req.Args) > 0 {
				if err := converter.Default.Decode(req.Args[0], &n); err != nil {
					return &streams.QueryResponse{Failure: engine.FailureFromError(err)}
				}
			}
			res, _ := converter.Default.Encode(Order{ID: req.InstanceID + "/" + req.ExecutionID, Total: float64(n)})
			return &streams.QueryResponse{Result: res}
		case "empty":
			return &streams.QueryResponse{}
		case "boom":
			return &streams.QueryResponse{Failure: engine.FailureFromError(workflow.NewError("Broken", "handler broke"))}
		}
		return &streams.QueryResponse{Failure: &history.Failure{Type: "UnknownQuery", Message: "no handler for query " + req.Name}}
	})

	got, err := QueryWorkflow[Order](e.ctx, e.c, inst, "status", 3)
	require.NoError(t, err)
	assert.Equal(t, Order{ID: "q-1/" + inst.ExecutionID, Total: 3}, got)
	req := <-requests
	assert.Equal(t, "q-1", req.InstanceID)
	assert.Equal(t, inst.ExecutionID, req.ExecutionID)
	assert.Equal(t, "status", req.Name)

	got, err = QueryWorkflow[Order](e.ctx, e.c, &workflow.Instance{InstanceID: "q-1"}, "status")
	require.NoError(t, err)
	assert.Equal(t, "q-1/", got.ID, "an empty ExecutionID asks for the current run")
	<-requests

	empty, err := QueryWorkflow[*Order](e.ctx, e.c, inst, "empty")
	require.NoError(t, err)
	assert.Nil(t, empty)
	<-requests

	_, err = QueryWorkflow[string](e.ctx, e.c, inst, "boom")
	var we *workflow.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, "Broken", we.Type)
	assert.ErrorContains(t, err, `query "boom"`)
	assert.ErrorContains(t, err, "handler broke")
	<-requests

	_, err = QueryWorkflow[string](e.ctx, e.c, inst, "nope")
	require.ErrorAs(t, err, &we)
	assert.Equal(t, "UnknownQuery", we.Type)
	assert.ErrorContains(t, err, "no handler for query nope")
	<-requests

	_, err = QueryWorkflow[int](e.ctx, e.c, inst, "status")
	assert.ErrorContains(t, err, "does not decode into int")
	<-requests
}

func TestQueryWorkflowRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "q-2", Queue: "nobody"}, Greet, "ann")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	_, err = QueryWorkflow[string](ctx, e.c, inst, "status")
	require.ErrorIs(t, err, ErrNoQueryResponder)
	assert.ErrorContains(t, err, "nobody")

	_, err = QueryWorkflow[string](e.ctx, e.c, &workflow.Instance{InstanceID: "missing"}, "status")
	require.ErrorIs(t, err, ErrInstanceNotFound)
	_, err = QueryWorkflow[string](e.ctx, e.c, inst, "")
	require.ErrorContains(t, err, "empty query name")
	_, err = QueryWorkflow[string](e.ctx, e.c, nil, "status")
	require.ErrorContains(t, err, "nil *workflow.Instance")
	_, err = QueryWorkflow[string](e.ctx, e.c, inst, "status", make(chan int))
	require.ErrorContains(t, err, "argument 1")
}
