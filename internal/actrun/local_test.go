package actrun

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/wfenv"
	"github.com/jetflow/jetflow/workflow"
)

// TestRunLocal pins which attempts of a local activity run inside a task,
// and how the task's attempts end.
func TestRunLocal(t *testing.T) {
	flaky := errors.New("flaky")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	policy := func(first time.Duration, attempts int) history.ActivityOptions {
		return history.ActivityOptions{MaxAttempts: attempts, FirstRetryInterval: first, BackoffCoefficient: 2,
			MaxRetryInterval: time.Hour, StartToClose: time.Second}
	}
	withS2C := func(p history.ActivityOptions, d time.Duration) history.ActivityOptions {
		p.ScheduleToClose = d
		return p
	}
	tests := []struct {
		name      string
		opts      history.ActivityOptions
		first     int   // the attempt to start from
		fails     int   // attempts that fail before one succeeds (-1: all)
		failWith  error // what they fail with
		attempts  int   // the last attempt run
		err       string
		retry     time.Duration // the outcome's RetryAfter
		slept     time.Duration // the waits inside the task
		succeeded bool
	}{
		{name: "success", opts: policy(time.Second, -1), first: 1, attempts: 1, succeeded: true},
		{name: "short backoffs inside the task", opts: policy(time.Second, -1), first: 1, fails: 2, failWith: flaky,
			attempts: 3, slept: 3 * time.Second, succeeded: true},
		{name: "a backoff past the threshold ends the task's attempts", opts: policy(time.Second, -1), first: 1, fails: -1,
			failWith: flaky, attempts: 4, err: "flaky", retry: 8 * time.Second, slept: 7 * time.Second},
		{name: "attempts after a timer go on counting, with the policy's backoff", opts: policy(time.Second, 6), first: 5, fails: -1,
			failWith: flaky, attempts: 5, err: "flaky", retry: 16 * time.Second},
		{name: "the last attempt after a timer fails for good", opts: policy(time.Second, 6), first: 6, fails: -1,
			failWith: flaky, attempts: 6, err: "flaky"},
		{name: "attempts run out", opts: policy(time.Second, 2), first: 1, fails: -1, failWith: flaky,
			attempts: 2, err: "flaky", slept: time.Second},
		{name: "permanent error", opts: policy(time.Second, -1), first: 1, fails: -1,
			failWith: workflow.NewPermanentError(flaky), attempts: 1, err: "flaky"},
		{name: "schedule-to-close ends the retries", opts: withS2C(policy(time.Second, -1), 2500*time.Millisecond), first: 1, fails: -1,
			failWith: flaky, attempts: 2, err: "flaky", slept: time.Second},
		{name: "result pending is refused", opts: policy(time.Second, -1), first: 1, fails: -1,
			failWith: actenv.ErrResultPending, attempts: 1, err: "cannot complete asynchronously"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := at
			clock := LocalClock{
				Now:   func() time.Time { return now },
				Sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil },
			}
			task := engine.LocalActivityTask{LocalActivityRequest: wfenv.LocalActivityRequest{
				Name: "Lookup", Options: tc.opts, Attempt: tc.first, ScheduledAt: at}}
			var ran []int
			o := RunLocal(context.Background(), task, clock, func(_ context.Context, n int) ([]byte, error) {
				ran = append(ran, n)
				if tc.fails < 0 || len(ran) <= tc.fails {
					return nil, tc.failWith
				}
				return []byte("ok"), nil
			})
			assert.Equal(t, tc.attempts, o.Attempt)
			assert.Equal(t, tc.first, ran[0])
			assert.Equal(t, tc.retry, o.RetryAfter)
			assert.Equal(t, tc.slept, now.Sub(at))
			if tc.succeeded {
				assert.NoError(t, o.Err)
				assert.Equal(t, "ok", string(o.Result))
			} else {
				assert.ErrorContains(t, o.Err, tc.err)
			}
		})
	}
}

// An attempt that ignores its context still ends at its timeout.
func TestRunLocalTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	task := engine.LocalActivityTask{LocalActivityRequest: wfenv.LocalActivityRequest{
		Name: "Stuck", Attempt: 1, ScheduledAt: time.Now(),
		Options: history.ActivityOptions{MaxAttempts: 1, StartToClose: 20 * time.Millisecond}}}
	clock := LocalClock{Now: time.Now, Sleep: func(context.Context, time.Duration) error { return nil }}
	o := RunLocal(context.Background(), task, clock, func(context.Context, int) ([]byte, error) {
		<-release
		return nil, nil
	})
	var we *workflow.Error
	if assert.ErrorAs(t, o.Err, &we) {
		assert.Equal(t, workflow.ErrTypeTimeout, we.Type)
	}
	assert.ErrorContains(t, o.Err, "start-to-close timeout of 20ms exceeded")
}

// A call whose schedule-to-close time has passed (after a long retry
// timer) fails with a Timeout that is not retried, without running.
func TestRunLocalScheduleToClosePassed(t *testing.T) {
	task := engine.LocalActivityTask{LocalActivityRequest: wfenv.LocalActivityRequest{
		Name: "Late", Attempt: 3, ScheduledAt: time.Now().Add(-time.Minute),
		Options: history.ActivityOptions{MaxAttempts: -1, StartToClose: time.Second, ScheduleToClose: 30 * time.Second}}}
	clock := LocalClock{Now: time.Now, Sleep: func(context.Context, time.Duration) error { return nil }}
	ran := false
	o := RunLocal(context.Background(), task, clock, func(context.Context, int) ([]byte, error) {
		ran = true
		return nil, nil
	})
	assert.False(t, ran)
	assert.Zero(t, o.RetryAfter)
	assert.ErrorContains(t, o.Err, "schedule-to-close timeout of 30s exceeded")
}
