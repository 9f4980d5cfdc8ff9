// Package tester is a stub of jetflow's tester package.
package tester

type Option func()

type RegisterOption func()

type WorkflowTester[T any] struct{}

func NewWorkflowTester[T any](wf any, opts ...Option) *WorkflowTester[T] { return nil }

func (wt *WorkflowTester[T]) RegisterActivity(a any, opts ...RegisterOption)  {}
func (wt *WorkflowTester[T]) RegisterWorkflow(wf any, opts ...RegisterOption) {}
