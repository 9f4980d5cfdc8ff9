package workflow

import (
	"fmt"
	"runtime/debug"
	"time"
)

// AwaitCondition waits until cond returns true. cond reads the workflow's
// own state (variables set by signal handlers, other coroutines, query
// handlers' data) and must not call the workflow API or have effects: it
// is re-checked after every event the run processes and after every step
// of its coroutines, so it runs any number of times. AwaitCondition returns
// nil once cond holds (at once if it holds already), and an error matching
// Canceled if ctx is canceled first.
//
// It records nothing in the history: the events that change the state
// are what is replayed. Await, the Select case, waits for a Future.
func AwaitCondition(ctx Context, cond func() bool) error {
	if cond == nil {
		panic("workflow.AwaitCondition: nil condition")
	}
	return awaitCondition(ctx, cond, nil)
}

// AwaitWithTimeout waits like AwaitCondition for at most d of workflow
// time. It returns true, nil when cond holds (and cancels its timer), false,
// nil when d ran out first, and false with an error matching Canceled when
// ctx is canceled first. A d <= 0 checks cond once without waiting.
func AwaitWithTimeout(ctx Context, d time.Duration, cond func() bool) (bool, error) {
	if cond == nil {
		panic("workflow.AwaitWithTimeout: nil condition")
	}
	if cond() {
		return true, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if d <= 0 {
		return false, nil
	}
	tctx, cancel := WithCancel(ctx)
	defer cancel()
	timer := ScheduleTimer(tctx, d)
	err := awaitCondition(ctx, cond, timer.Ready)
	if err != nil {
		return false, err
	}
	if cond() {
		return true, nil
	}
	return false, nil
}

// awaitCondition blocks until cond holds, ctx is canceled, or stop (may be
// nil) returns true. The scheduler evaluates the condition on its own
// goroutine, outside workflow code; a panic there would take the worker
// down, so it is caught, ends the wait, and is raised again in the
// workflow's coroutine, where it fails the run like any panic.
func awaitCondition(ctx Context, cond func() bool, stop func() bool) error {
	var caught *conditionPanic
	held := false
	env := envOf(ctx)
	env.Scheduler().Block(func() bool {
		if caught != nil {
			return true
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					caught = &conditionPanic{value: r, stack: string(debug.Stack())}
				}
			}()
			held = cond()
		}()
		return held || caught != nil || ctx.Err() != nil || (stop != nil && stop())
	})
	if caught != nil {
		panic(caught)
	}
	if held {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

// conditionPanic is a panic of an await condition, raised again in the
// coroutine that waits.
type conditionPanic struct {
	value any
	stack string
}

func (p *conditionPanic) String() string {
	return fmt.Sprintf("%v (in an await condition)\n%s", p.value, p.stack)
}
