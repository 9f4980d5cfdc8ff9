package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func Fetch(ctx context.Context, key string) (string, error) { return key, nil }

func TestSelectPicksTheFirstReadyCaseInArgumentOrder(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		a := workflow.NewBufferedChannel[int](ctx, 1)
		b := workflow.NewBufferedChannel[int](ctx, 1)
		done := workflow.ScheduleTimer(ctx, 0) // ready at once
		b.Send(ctx, 2)
		a.Send(ctx, 1)
		for range 3 {
			workflow.Select(ctx,
				workflow.Receive(a, func(ctx workflow.Context, v int, ok bool) { tr.add("a") }),
				workflow.Receive(b, func(ctx workflow.Context, v int, ok bool) { tr.add("b") }),
				workflow.Await(done, func(ctx workflow.Context, f workflow.Future[struct{}]) { tr.add("timer") }),
			)
		}
		return tr, nil
	})
	assert.Equal(t, []string{"a", "b", "timer"}, enginetest.Result[[]string](r))
	r.ReplayCheck()
}

func TestFutureReady(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]bool, error) {
		f := workflow.ScheduleTimer(ctx, time.Second)
		before := f.Ready()
		f.Get(ctx)
		return []bool{before, f.Ready(), workflow.ScheduleTimer(ctx, 0).Ready()}, nil
	})
	r.Do(r.TimerFired(r.Last(history.TimerScheduled, "").ID))
	assert.Equal(t, []bool{false, true, true}, enginetest.Result[[]bool](r))
}

func TestSelectDefault(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		c := workflow.NewBufferedChannel[int](ctx, 1)
		workflow.Select(ctx,
			workflow.Receive(c, func(workflow.Context, int, bool) { tr.add("receive") }),
			workflow.Default(func(workflow.Context) { tr.add("default") }),
		)
		c.Send(ctx, 1)
		workflow.Select(ctx,
			workflow.Default(func(workflow.Context) { tr.add("default") }),
			workflow.Receive(c, func(_ workflow.Context, v int, _ bool) { tr.add("receive " + itoa(v)) }),
		)
		return tr, nil
	})
	assert.Equal(t, []string{"default", "receive 1"}, enginetest.Result[[]string](r))
}

func TestSelectWhileWaitingTheFirstToBecomeReadyWins(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		a := workflow.NewChannel[string](ctx)
		b := workflow.NewChannel[string](ctx)
		workflow.Go(ctx, func(ctx workflow.Context) {
			b.Send(ctx, "b") // b's sender runs first, while the Select waits
			a.Send(ctx, "a")
		})
		for range 2 {
			workflow.Select(ctx,
				workflow.Receive(a, func(_ workflow.Context, v string, _ bool) { tr.add(v) }),
				workflow.Receive(b, func(_ workflow.Context, v string, _ bool) { tr.add(v) }),
			)
		}
		return tr, nil
	})
	assert.Equal(t, []string{"b", "a"}, enginetest.Result[[]string](r))
	r.ReplayCheck()
}

// raceWorkflow races a 10s timer against an activity and reports which won.
func raceWorkflow(ctx workflow.Context) (string, error) {
	tctx, cancelTimer := workflow.WithCancel(ctx)
	timer := workflow.ScheduleTimer(tctx, 10*time.Second)
	act := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Fetch, "k")
	var winner string
	workflow.Select(ctx,
		workflow.Await(timer, func(ctx workflow.Context, f workflow.Future[struct{}]) { winner = "timer" }),
		workflow.Await(act, func(ctx workflow.Context, f workflow.Future[string]) {
			v, err := f.Get(ctx)
			if err != nil {
				winner = "activity error " + err.Error()
				return
			}
			winner = "activity " + v
			cancelTimer()
		}),
	)
	return winner, nil
}

func TestTimerRacesActivity(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(r *enginetest.Run, timer, act int64) []history.Event
		want      string
		wantKinds []history.Kind
	}{
		{
			name: "activity first",
			answer: func(r *enginetest.Run, timer, act int64) []history.Event {
				return []history.Event{r.ActivityCompleted(act, "v")}
			},
			want:      "activity v",
			wantKinds: []history.Kind{history.ActivityCompleted, history.TimerCanceled, history.WorkflowCompleted},
		},
		{
			name: "timer first",
			answer: func(r *enginetest.Run, timer, act int64) []history.Event {
				r.Advance(10 * time.Second)
				return []history.Event{r.TimerFired(timer)}
			},
			want:      "timer",
			wantKinds: []history.Kind{history.TimerFired, history.WorkflowCompleted},
		},
		{
			name: "both in one task: the first event wins, events after the end are dropped",
			answer: func(r *enginetest.Run, timer, act int64) []history.Event {
				r.Advance(10 * time.Second)
				return []history.Event{r.TimerFired(timer), r.ActivityCompleted(act, "late")}
			},
			want:      "timer",
			wantKinds: []history.Kind{history.TimerFired, history.WorkflowCompleted},
		},
		{
			name: "activity fails",
			answer: func(r *enginetest.Run, timer, act int64) []history.Event {
				return []history.Event{r.ActivityFailed(act, workflow.NewError("Boom", "it broke"))}
			},
			want:      "activity error it broke",
			wantKinds: []history.Kind{history.ActivityFailed, history.WorkflowCompleted},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.Start(t, raceWorkflow)
			timer := r.Last(history.TimerScheduled, "")
			act := r.Last(history.ActivityScheduled, "Fetch")
			assert.Equal(t, enginetest.Epoch.Add(10*time.Second), timer.FireAt)
			out := r.Do(tt.answer(r, timer.ID, act.ID)...)
			assert.Equal(t, tt.wantKinds, enginetest.Kinds(out), enginetest.Format(out))
			assert.Equal(t, tt.want, enginetest.Result[string](r))
			r.ReplayCheck()
		})
	}
}

func TestSelectOnClosedChannelAndDone(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		c := workflow.NewChannel[int](ctx)
		cctx, cancel := workflow.WithCancel(ctx)
		workflow.Go(ctx, func(ctx workflow.Context) { c.Close() })
		workflow.Select(ctx,
			workflow.Receive(c, func(_ workflow.Context, v int, ok bool) { tr.add("closed " + btoa(ok)) }),
		)
		workflow.Go(ctx, func(ctx workflow.Context) { cancel() })
		workflow.Select(ctx,
			workflow.Receive(cctx.Done(), func(workflow.Context, struct{}, bool) { tr.add("done " + cctx.Err().Error()) }),
		)
		return tr, nil
	})
	assert.Equal(t, []string{"closed false", "done canceled"}, enginetest.Result[[]string](r))
}

func TestSelectInALoopDoesNotAccumulateWaiters(t *testing.T) {
	// Each Select registers on ctx.Done() and a signal channel; the
	// registrations of the cases that did not fire must go, or a long
	// loop leaks. 200 rounds through the executor would take long to
	// observe through memory, so check behaviour: every signal is
	// received exactly once and in order.
	r := enginetest.Start(t, func(ctx workflow.Context) (int, error) {
		sig := workflow.NewSignalChannel[int](ctx, "n")
		sum := 0
		for i := 0; i < 200; i++ {
			workflow.Select(ctx,
				workflow.Receive(ctx.Done(), func(workflow.Context, struct{}, bool) {}),
				workflow.Receive(sig, func(_ workflow.Context, v int, _ bool) {
					if v != i {
						panic("out of order")
					}
					sum += v
				}),
			)
		}
		return sum, nil
	})
	for i := 0; i < 200; i++ {
		r.Do(r.Signal("n", i))
	}
	require.Equal(t, 199*200/2, enginetest.Result[int](r))
}
