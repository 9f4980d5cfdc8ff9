package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// QueryWorkflow asks a worker of the instance's queue to run the query
// handler name (workflow.SetQueryHandler) of a run with args, and decodes
// its answer into T. An empty inst.ExecutionID means the current run.
// Queries read a run's state and change nothing; finished runs can be
// queried too while a worker still has them.
//
// Errors: ErrInstanceNotFound for an unknown instance; ErrNoQueryResponder
// when no worker serves the queue; a failed query (no handler of that name,
// a handler error) gives the worker's error rebuilt as a *workflow.Error
// (errors.As), wrapped with the query's name.
func QueryWorkflow[T any](ctx context.Context, c *Client, inst *workflow.Instance, name string, args ...any) (T, error) {
	var zero T
	result, err := c.query(ctx, inst, name, args)
	if err != nil {
		return zero, err
	}
	var res T
	if len(result) == 0 {
		return res, nil
	}
	if err := c.conv.Decode(result, &res); err != nil {
		return zero, fmt.Errorf("client: the answer to query %q of instance %q does not decode into %v: %w",
			name, inst.InstanceID, reflect.TypeFor[T](), err)
	}
	return res, nil
}

// query sends a query and returns the encoded answer.
func (c *Client) query(ctx context.Context, inst *workflow.Instance, name string, args []any) (_ []byte, err error) {
	if err := checkInstance(inst); err != nil {
		return nil, fmt.Errorf("client: query %q: %w", name, err)
	}
	if name == "" {
		return nil, fmt.Errorf("client: query instance %q: empty query name", inst.InstanceID)
	}
	payloads, err := call.EncodeArgs(c.conv, args)
	if err != nil {
		return nil, fmt.Errorf("client: query %q of instance %q: %w", name, inst.InstanceID, err)
	}
	rec, err := c.getRecord(ctx, inst.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("client: query %q: %w", name, err)
	}
	ctx, span := c.span(ctx, "QueryWorkflow "+name, trace.SpanKindClient, func() []attribute.KeyValue {
		return []attribute.KeyValue{
			telemetry.KeyRPCSystem.String("jetflow"), telemetry.KeyRPCService.String(rec.WorkflowName), telemetry.KeyRPCMethod.String(name),
			telemetry.KeyQueue.String(rec.Queue), telemetry.KeyWorkflow.String(rec.WorkflowName), telemetry.KeyQuery.String(name),
			telemetry.KeyInstanceID.String(inst.InstanceID),
		}
	})
	defer func() { telemetry.EndSpan(span, err) }()
	resp, err := c.b.Query(ctx, rec.Queue, &streams.QueryRequest{
		InstanceID:  inst.InstanceID,
		ExecutionID: inst.ExecutionID,
		Name:        name,
		Args:        payloads,
		Trace:       c.b.Telemetry().Inject(ctx),
	})
	if err != nil {
		if errors.Is(err, streams.ErrNoQueryResponder) {
			return nil, fmt.Errorf("client: query %q of instance %q: %w (is a worker of that queue running?)", name, inst.InstanceID, err)
		}
		return nil, fmt.Errorf("client: query %q of instance %q: %w", name, inst.InstanceID, err)
	}
	if resp.Failure != nil {
		return nil, fmt.Errorf("client: query %q of instance %q failed: %w", name, inst.InstanceID, resp.Err(engine.ErrorFromFailure(resp.Failure)))
	}
	return resp.Result, nil
}
