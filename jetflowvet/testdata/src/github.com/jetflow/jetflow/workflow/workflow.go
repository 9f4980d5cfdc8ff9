// Package workflow is a stub of jetflow's workflow package: the names the
// analyzer knows, with the real signatures.
package workflow

import (
	"context"
	"time"
)

type Context interface {
	Done() Channel[struct{}]
	Err() error
	Value(key any) any
}

type Future[T any] interface {
	Get(ctx Context) (T, error)
	Ready() bool
}

type Channel[T any] interface {
	Send(ctx Context, v T)
	Receive(ctx Context) (T, bool)
	Close()
}

type SelectCase interface{ isCase() }

type ActivityOptions struct{ StartToCloseTimeout time.Duration }

var DefaultActivityOptions ActivityOptions

type SubWorkflowOptions struct{ InstanceID string }

type Info struct{ InstanceID string }

func Now(ctx Context) time.Time                                   { return time.Now() }
func Sleep(ctx Context, d time.Duration) error                    { time.Sleep(d); return nil }
func ScheduleTimer(ctx Context, d time.Duration) Future[struct{}] { return nil }
func Go(ctx Context, f func(ctx Context))                         { go f(ctx) }
func Select(ctx Context, cases ...SelectCase)                     {}
func NewChannel[T any](ctx Context) Channel[T]                    { return nil }
func GetInfo(ctx Context) Info                                    { return Info{} }
func SideEffect[T any](ctx Context, fn func(ctx Context) T) Future[T] {
	return nil
}
func SetQueryHandler(ctx Context, name string, handler any) error { return nil }
func ExecuteActivity[T any](ctx Context, opts ActivityOptions, activity any, args ...any) Future[T] {
	return nil
}

type LocalActivityOptions struct{}

func ExecuteLocalActivity[T any](ctx Context, opts LocalActivityOptions, activity any, args ...any) Future[T] {
	return nil
}
func CreateSubWorkflowInstance[T any](ctx Context, opts SubWorkflowOptions, wf any, args ...any) Future[T] {
	return nil
}

var _ = context.Background
