// Package client starts workflow instances and talks to them from outside:
// it waits for results, signals, cancels, terminates, queries, removes, and
// reads what an operator needs (describe, list, history).
//
// A Client works on a streams.Backend, so it talks to NATS directly; there
// is no server in between. It follows the protocol between client and worker
// of docs/architecture.md: the registry entry is written first and the start
// event second, waiting for a result subscribes to result notices before
// reading the registry, and every event it puts into an instance's inbox
// carries the message ID the protocol gives it, so a retried call is stored
// once.
//
//	c := client.New(b)
//	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{
//		InstanceID: "order-42",
//	}, ProcessOrder, order)
//	total, err := client.GetWorkflowResult[int](ctx, c, inst, 10*time.Second)
//
// # Errors
//
// Callers match errors with errors.Is against the sentinels of this package
// (ErrInstanceAlreadyExists, ErrInstanceNotFound, ErrInstanceNotFinished,
// ErrInstanceFinished, ErrExecutionNotFound, ErrWorkflowCanceled,
// ErrWorkflowTerminated, ErrNoQueryResponder). ErrInstanceAlreadyExists and
// ErrInstanceNotFound are the very values of package workflow (and of
// streams.ErrInstanceExists and streams.ErrInstanceNotFound), so the error of
// a sub-workflow that could not start and the error of a client start match
// the same sentinel. A name that cannot be used as an instance ID or queue
// gives an error wrapping streams.ErrInvalidName.
//
// A workflow that failed makes GetWorkflowResult return the workflow's error
// itself, rebuilt: the same message, and for errors made with
// workflow.NewError the same *workflow.Error type (errors.As), or a
// *workflow.PanicError for a panic.
package client
