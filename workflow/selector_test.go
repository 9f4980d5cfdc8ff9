package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// A future added to a Selector fires once across Select calls (plain
// Select would fire the first ready future every time); a Receive case
// keeps firing; HasPending says whether Select would wait.
func TestSelectorRemembers(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		a := workflow.ScheduleTimer(ctx, 0) // ready at once
		b := workflow.ScheduleTimer(ctx, 0)
		ch := workflow.NewBufferedChannel[int](ctx, 2)
		sel := workflow.NewSelector(ctx).Add(
			workflow.Await(a, func(workflow.Context, workflow.Future[struct{}]) { tr.add("a") }),
			workflow.Await(b, func(workflow.Context, workflow.Future[struct{}]) { tr.add("b") }),
			workflow.Receive(ch, func(_ workflow.Context, v int, _ bool) { tr.add("ch") }),
		)
		sel.Select(ctx)
		sel.Select(ctx)
		if sel.HasPending() {
			tr.add("pending?")
		}
		ch.Send(ctx, 1)
		ch.Send(ctx, 2)
		sel.Select(ctx)
		sel.Select(ctx)
		later := workflow.ScheduleTimer(ctx, time.Minute)
		sel.Add(workflow.Await(later, func(workflow.Context, workflow.Future[struct{}]) { tr.add("later") }))
		sel.Select(ctx) // waits for the timer
		tr.add(string(rune('0' + sel.Len())))
		return tr, nil
	})
	r.Do(r.TimerFired(r.Last(history.TimerScheduled, "").ID))
	assert.Equal(t, []string{"a", "b", "ch", "ch", "later", "1"}, enginetest.Result[[]string](r))
	r.ReplayCheck()
}

func TestSelectorDefault(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		f := workflow.ScheduleTimer(ctx, time.Minute)
		sel := workflow.NewSelector(ctx).Add(
			workflow.Await(f, func(workflow.Context, workflow.Future[struct{}]) { tr.add("timer") }),
			workflow.Default(func(workflow.Context) { tr.add("default") }),
		)
		sel.Select(ctx)
		return tr, nil
	})
	assert.Equal(t, []string{"default"}, enginetest.Result[[]string](r))
}
