package tester_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

type Order struct {
	ID    string
	Items int
}

func Charge(ctx context.Context, o Order, cents int) (string, error) { return "receipt", nil }

func Checkout(ctx workflow.Context, o Order) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Charge, o, 1250).Get(ctx)
}

func TestUnexpectedActivityCall(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tst *tester.WorkflowTester[string])
		want  []string // parts of the failure message
	}{
		{
			name:  "no mock and no registration",
			setup: func(*tester.WorkflowTester[string]) {},
			want: []string{
				"unexpected call", "workflow Checkout", `instance "test-instance"`,
				// The tester does not know Charge's signature: the
				// arguments are shown as they decode without it.
				`activity Charge(map[ID:o-1 Items:2], 1250)`,
				"has no mock (OnActivity) and is not registered (RegisterActivity)",
			},
		},
		{
			name: "arguments no expectation matches",
			setup: func(tst *tester.WorkflowTester[string]) {
				tst.OnActivity(Charge, mock.Anything, Order{ID: "o-1", Items: 2}, 999).Return("receipt", nil)
			},
			want: []string{
				"unexpected call", `activity Charge(ctx, tester_test.Order{ID:"o-1", Items:2}, 1250) (attempt 1)`,
				"called by workflow Checkout", "matches no OnActivity expectation",
				"The closest call I have is", "999", "1250",
			},
		},
		{
			name: "expectation used up",
			setup: func(tst *tester.WorkflowTester[string]) {
				tst.OnActivity(Charge, mock.Anything, mock.Anything, mock.Anything).Return("", errors.New("declined")).Once()
			},
			want: []string{"unexpected call", "attempt 2", "has been called over 1 times"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newFakeTB(t)
			tst := tester.NewWorkflowTester[string](Checkout, tester.WithTB(tb))
			tt.setup(tst)
			tst.Execute(Order{ID: "o-1", Items: 2})

			msg := tb.failure(t)
			t.Logf("the failure reads:\n%s", msg)
			for _, part := range tt.want {
				assert.Contains(t, msg, part)
			}
			assert.NotContains(t, msg, "at: [", "testify's call sites point into the tester")
			assert.ErrorIs(t, tst.Err(), tester.ErrUnexpectedCall)
			assert.False(t, tst.WorkflowFinished())
			_, err := tst.WorkflowResult()
			assert.ErrorIs(t, err, tester.ErrUnexpectedCall)
		})
	}
}

func TestFailureWithoutTBPanics(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Checkout)
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		tst.Execute(Order{ID: "o-2"})
	}()
	err, ok := recovered.(error)
	require.True(t, ok, "Execute panicked with %v, not an error", recovered)
	assert.ErrorIs(t, err, tester.ErrUnexpectedCall)
	assert.ErrorContains(t, err, "activity Charge")
}

// Stuck calls an activity that waits for its context.
func Stuck(ctx workflow.Context) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Slow, time.Hour, time.Duration(0)).Get(ctx)
}

// Forever sleeps an hour at a time, forever.
func Forever(ctx workflow.Context) error {
	for {
		if err := workflow.Sleep(ctx, time.Hour); err != nil {
			return err
		}
	}
}

func TestTestTimeout(t *testing.T) {
	t.Run("hanging activity", func(t *testing.T) {
		tb := newFakeTB(t)
		tst := tester.NewWorkflowTester[string](Stuck, tester.WithTB(tb), tester.WithTestTimeout(100*time.Millisecond))
		tst.RegisterActivity(Slow)
		tst.Execute()
		msg := tb.failure(t)
		t.Logf("the failure reads:\n%s", msg)
		assert.ErrorIs(t, tst.Err(), tester.ErrTestTimeout)
		assert.Contains(t, msg, "100ms of wall time")
		assert.Contains(t, msg, `activity Slow (event 2 of instance "test-instance", attempt 1) has been running for`)
	})
	t.Run("endless timers", func(t *testing.T) {
		tb := newFakeTB(t)
		tst := tester.NewWorkflowTester[any](Forever, tester.WithTB(tb), tester.WithTestTimeout(100*time.Millisecond),
			tester.WithStartTime(epoch))
		tst.Execute()
		msg := tb.failure(t)
		t.Logf("the failure reads:\n%.300s", msg)
		assert.ErrorIs(t, tst.Err(), tester.ErrTestTimeout)
		assert.Contains(t, msg, "workflow Forever")
		assert.Contains(t, msg, "a timer due at")
		assert.Greater(t, tst.Now().Sub(epoch), time.Hour)
	})
}

var replays int

// Unstable takes a different path when it runs again: not deterministic.
func Unstable(ctx workflow.Context) error {
	replays++ //jetflowvet:ignore the replay check under test needs a workflow that is not deterministic
	if replays%2 == 1 {
		return workflow.Sleep(ctx, time.Minute)
	}
	return nil
}

func TestReplayCheck(t *testing.T) {
	replays = 0
	tb := newFakeTB(t)
	tst := tester.NewWorkflowTester[any](Unstable, tester.WithTB(tb), tester.WithReplayCheck())
	tst.Execute()
	msg := tb.failure(t)
	t.Logf("the failure reads:\n%s", msg)
	assert.Contains(t, msg, "replaying the history of workflow Unstable")
	assert.Contains(t, msg, "not deterministic")
}

func TestBadSetup(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tst *tester.WorkflowTester[string])
		args  []any
		want  string
	}{
		{
			name: "mock without the context argument",
			setup: func(tst *tester.WorkflowTester[string]) {
				tst.OnActivity(Charge, Order{}, 1250)
			},
			want: "OnActivity(Charge): func(context.Context, tester_test.Order, int) (string, error) takes 3 arguments, " +
				"the first being the context, but 2 were given; pass mock.Anything for the context",
		},
		{
			name: "mock argument of the wrong type",
			setup: func(tst *tester.WorkflowTester[string]) {
				tst.OnActivity(Charge, mock.Anything, Order{}, "12.50")
			},
			want: "OnActivity(Charge): argument 2: string does not fit int",
		},
		{
			name: "not an activity",
			setup: func(tst *tester.WorkflowTester[string]) {
				tst.RegisterActivity(func(n int) int { return n })
			},
			want: "RegisterActivity: not an activity function",
		},
		{
			name:  "Execute with the wrong arguments",
			setup: func(*tester.WorkflowTester[string]) {},
			args:  []any{"o-1"},
			want:  "Execute: workflow Checkout argument 1: string does not fit tester_test.Order",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newFakeTB(t)
			tst := tester.NewWorkflowTester[string](Checkout, tester.WithTB(tb))
			tt.setup(tst)
			if tt.args == nil {
				tt.args = []any{Order{}}
			}
			tst.Execute(tt.args...)
			tb.mu.Lock()
			fatals := tb.fatals
			tb.mu.Unlock()
			require.NotEmpty(t, fatals)
			assert.Contains(t, fatals[0], tt.want)
			assert.ErrorIs(t, tst.Err(), tester.ErrBadSetup)
		})
	}
}

func TestExecuteTwice(t *testing.T) {
	tb := newFakeTB(t)
	tst := tester.NewWorkflowTester[string](Deadline, tester.WithTB(tb))
	tst.SignalWorkflow("go", "ann")
	tst.Execute()
	tst.Execute()
	assert.Contains(t, tb.failure(t), "Execute was called twice")
	res, err := tst.WorkflowResult()
	require.NoError(t, err, "the first run's result stays")
	assert.Contains(t, res, "signal from ann")
}

func TestWrongResultType(t *testing.T) {
	tb := newFakeTB(t)
	tester.NewWorkflowTester[int](Checkout, tester.WithTB(tb))
	assert.Contains(t, tb.failure(t), "NewWorkflowTester[int]: workflow Checkout returns string, which does not fit int")
}
