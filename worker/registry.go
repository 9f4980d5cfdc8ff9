package worker

import (
	"context"
	"fmt"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

// RegisterOption changes how a function is registered.
type RegisterOption func(*registerOptions)

type registerOptions struct {
	name   string
	prefix string
}

// WithName registers a function under the given name instead of its own.
func WithName(name string) RegisterOption {
	return func(o *registerOptions) { o.name = name }
}

// WithNamePrefix registers a function as prefix + its own name, and each
// method of a struct of activities as prefix + the method's name, so two
// structs with a method of the same name do not collide:
//
//	w.RegisterActivity(&billing.Activities{}, worker.WithNamePrefix("billing."))
//	w.RegisterActivity(&shipping.Activities{}, worker.WithNamePrefix("shipping."))
//	workflow.ExecuteActivity[string](ctx, opts, "billing.Notify", order) // called by name
//
// A method value (a.Notify) names only the method, so callers of
// prefixed activities call them by their registered name.
func WithNamePrefix(prefix string) RegisterOption {
	return func(o *registerOptions) { o.prefix = prefix }
}

func registerOpts(opts []RegisterOption) registerOptions {
	o := registerOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// ErrAlreadyRegistered is returned when a name is registered twice with
// different functions. Registering the same function again under the same
// name is allowed (the tester does the same).
var ErrAlreadyRegistered = registry.ErrAlreadyRegistered

func addWorkflow(r *registry.Registry, fn any, opts []RegisterOption) error {
	o := registerOpts(opts)
	name := o.name
	if name == "" && o.prefix != "" {
		n, err := registry.Name(fn)
		if err != nil {
			return fmt.Errorf("worker: RegisterWorkflow: %w", err)
		}
		name = o.prefix + n
	}
	if _, err := r.AddWorkflow(fn, name); err != nil {
		return fmt.Errorf("worker: RegisterWorkflow: %w", err)
	}
	return nil
}

func addActivity(r *registry.Registry, a any, opts []RegisterOption) error {
	o := registerOpts(opts)
	if err := registry.AddActivity(r, a, o.name, o.prefix); err != nil {
		return fmt.Errorf("worker: RegisterActivity: %w", err)
	}
	return nil
}

// DynamicWorkflow is a catch-all workflow: the worker runs it for every
// workflow name it has no workflow registered as, with that name and the
// arguments undecoded (decode each with args.Get(i, &v)). Its result is
// encoded like any workflow's.
type DynamicWorkflow = func(ctx workflow.Context, name string, args converter.EncodedValues) (any, error)

// DynamicActivity is a catch-all activity, as DynamicWorkflow.
type DynamicActivity = func(ctx context.Context, name string, args converter.EncodedValues) (any, error)

// RegisterDynamicWorkflow registers the catch-all workflow (one per
// worker). A worker with one takes every run of its queues: register it
// only on workers that can handle any name they are sent.
func (w *Worker) RegisterDynamicWorkflow(fn DynamicWorkflow) error {
	if err := w.reg.SetDynamicWorkflow(fn); err != nil {
		return fmt.Errorf("worker: RegisterDynamicWorkflow: %w", err)
	}
	return nil
}

// RegisterDynamicActivity registers the catch-all activity (one per
// worker), as RegisterDynamicWorkflow.
func (w *Worker) RegisterDynamicActivity(fn DynamicActivity) error {
	if err := w.reg.SetDynamicActivity(fn); err != nil {
		return fmt.Errorf("worker: RegisterDynamicActivity: %w", err)
	}
	return nil
}
