package worker

import (
	"fmt"

	"github.com/jetflow/jetflow/internal/registry"
)

// RegisterOption changes how a function is registered.
type RegisterOption func(*registerOptions)

type registerOptions struct {
	name string
}

// WithName registers a function under the given name instead of its own.
func WithName(name string) RegisterOption {
	return func(o *registerOptions) { o.name = name }
}

func registeredName(opts []RegisterOption) string {
	o := registerOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	return o.name
}

// ErrAlreadyRegistered is returned when a name is registered twice with
// different functions. Registering the same function again under the same
// name is allowed (the tester does the same).
var ErrAlreadyRegistered = registry.ErrAlreadyRegistered

func addWorkflow(r *registry.Registry, fn any, opts []RegisterOption) error {
	if _, err := r.AddWorkflow(fn, registeredName(opts)); err != nil {
		return fmt.Errorf("worker: RegisterWorkflow: %w", err)
	}
	return nil
}

func addActivity(r *registry.Registry, a any, opts []RegisterOption) error {
	if err := r.AddActivity(a, registeredName(opts)); err != nil {
		return fmt.Errorf("worker: RegisterActivity: %w", err)
	}
	return nil
}
