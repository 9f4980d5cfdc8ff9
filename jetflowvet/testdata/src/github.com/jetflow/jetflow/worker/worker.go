// Package worker is a stub of jetflow's worker package.
package worker

type Worker struct{}

type RegisterOption func()

func (w *Worker) RegisterWorkflow(fn any, opts ...RegisterOption) error { return nil }
func (w *Worker) RegisterActivity(a any, opts ...RegisterOption) error  { return nil }
