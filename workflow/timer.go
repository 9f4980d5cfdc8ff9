package workflow

import (
	"fmt"
	"time"
)

// Now returns the workflow's current time: the time of the event being
// processed, the same on every replay. Use it instead of time.Now.
func Now(ctx Context) time.Time { return envOf(ctx).Now() }

// ScheduleTimer returns a future that is ready after d of workflow time.
// Canceling ctx cancels the timer and fails the future with Canceled; a
// timer scheduled on a canceled ctx fails at once. A zero d is ready at once
// and schedules nothing.
func ScheduleTimer(ctx Context, d time.Duration) Future[struct{}] {
	env := envOf(ctx)
	sched := env.Scheduler()
	switch {
	case d < 0:
		return newReadyFuture(sched, struct{}{}, fmt.Errorf("workflow.ScheduleTimer: negative duration %v", d))
	case ctx.Err() != nil:
		return newReadyFuture(sched, struct{}{}, Canceled)
	case d == 0:
		return newReadyFuture(sched, struct{}{}, nil)
	}
	f := newFuture[struct{}](sched)
	var stop func()
	id := env.ScheduleTimer(d, func(_ []byte, err error) {
		if stop != nil {
			stop()
		}
		f.settle(struct{}{}, err)
	})
	if !f.settled {
		stop = ctx.impl().onCancel(func() { env.CancelCommand(id) })
	}
	return f
}

// Sleep waits for d of workflow time. It returns Canceled if ctx is
// canceled first.
func Sleep(ctx Context, d time.Duration) error {
	_, err := ScheduleTimer(ctx, d).Get(ctx)
	return err
}
