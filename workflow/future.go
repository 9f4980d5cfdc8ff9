package workflow

import (
	"github.com/jetflow/jetflow/internal/coro"
)

// Future is the eventual result of an asynchronous workflow call
// (ExecuteActivity, ScheduleTimer, CreateSubWorkflowInstance, SideEffect,
// SignalWorkflow). Wait for it with Get, or for several at once with Select
// and Await.
type Future[T any] interface {
	// Get waits until the result is there and returns it.
	Get(ctx Context) (T, error)
	// Ready reports whether Get would return without waiting.
	Ready() bool

	impl() *future[T]
}

type future[T any] struct {
	sched   *coro.Scheduler
	settled bool
	v       T
	err     error
	// waiters are the blocked Selects awaiting this future.
	waiters []futureWaiter
}

type futureWaiter struct {
	sel *selectState
	idx int
}

func newFuture[T any](sched *coro.Scheduler) *future[T] {
	return &future[T]{sched: sched}
}

func (f *future[T]) impl() *future[T] { return f }

func (f *future[T]) Ready() bool { return f.settled }

func (f *future[T]) Get(_ Context) (T, error) {
	if !f.settled {
		f.sched.Block(func() bool { return f.settled })
	}
	return f.v, f.err
}

// settle sets the result and wakes the Selects waiting for it. A second
// settle is ignored.
func (f *future[T]) settle(v T, err error) {
	if f.settled {
		return
	}
	f.v, f.err, f.settled = v, err, true
	for _, w := range f.waiters {
		if w.sel.fired < 0 {
			w.sel.fired = w.idx
		}
	}
	f.waiters = nil
}

func (f *future[T]) removeWaiter(sel *selectState) {
	n := 0
	for _, w := range f.waiters {
		if w.sel != sel {
			f.waiters[n] = w
			n++
		}
	}
	clear(f.waiters[n:])
	f.waiters = f.waiters[:n]
}

// newReadyFuture returns a future settled with v and err.
func newReadyFuture[T any](sched *coro.Scheduler, v T, err error) *future[T] {
	f := newFuture[T](sched)
	f.settle(v, err)
	return f
}
