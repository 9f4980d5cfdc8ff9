package actrun

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/workflow"
)

// TestRetryDelay pins the retry computation the worker and the tester
// share.
func TestRetryDelay(t *testing.T) {
	errPlain := errors.New("plain")
	def := history.ActivityOptions{MaxAttempts: 3, FirstRetryInterval: time.Second, MaxRetryInterval: time.Minute, BackoffCoefficient: 2}
	tests := []struct {
		name    string
		p       history.ActivityOptions
		attempt int
		since   time.Duration
		err     error
		want    time.Duration
		retry   bool
	}{
		{"first retry", def, 1, 0, errPlain, time.Second, true},
		{"second retry doubles", def, 2, time.Second, errPlain, 2 * time.Second, true},
		{"attempts exhausted", def, 3, 3 * time.Second, errPlain, 0, false},
		{"permanent", def, 1, 0, workflow.NewPermanentError(errPlain), 0, false},
		{"stored zero attempts count as one (older histories)", history.ActivityOptions{}, 1, 0, errPlain, 0, false},
		{"unlimited attempts", history.ActivityOptions{MaxAttempts: history.UnlimitedAttempts, FirstRetryInterval: time.Second, BackoffCoefficient: 2, MaxRetryInterval: 100 * time.Second}, 1000, time.Hour, errPlain, 100 * time.Second, true},
		{"no cap, many attempts: no overflow", history.ActivityOptions{MaxAttempts: history.UnlimitedAttempts, FirstRetryInterval: time.Second, BackoffCoefficient: 2}, 200, 0, errPlain, time.Duration(math.MaxInt64), true},
		{"unlimited attempts end at schedule-to-close", history.ActivityOptions{MaxAttempts: history.UnlimitedAttempts, FirstRetryInterval: time.Second, ScheduleToClose: time.Minute}, 50, 59500 * time.Millisecond, errPlain, 0, false},
		{"unlimited attempts end at the retry timeout", history.ActivityOptions{MaxAttempts: history.UnlimitedAttempts, FirstRetryInterval: time.Second, RetryTimeout: time.Minute}, 50, 59500 * time.Millisecond, errPlain, 0, false},
		{"unlimited attempts stop at a permanent error", history.ActivityOptions{MaxAttempts: history.UnlimitedAttempts}, 1, 0, workflow.NewPermanentError(errPlain), 0, false},
		{"default first interval is a second", history.ActivityOptions{MaxAttempts: 2}, 1, 0, errPlain, time.Second, true},
		{"coefficient below 1 counts as 1", history.ActivityOptions{MaxAttempts: 9, FirstRetryInterval: 3 * time.Second, BackoffCoefficient: 0.5}, 5, 0, errPlain, 3 * time.Second, true},
		{"capped", history.ActivityOptions{MaxAttempts: 9, FirstRetryInterval: 10 * time.Second, BackoffCoefficient: 3, MaxRetryInterval: time.Minute}, 3, 0, errPlain, time.Minute, true},
		{"retry timeout", history.ActivityOptions{MaxAttempts: 9, FirstRetryInterval: 10 * time.Second, RetryTimeout: 25 * time.Second}, 3, 20 * time.Second, errPlain, 0, false},
		{"within retry timeout", history.ActivityOptions{MaxAttempts: 9, FirstRetryInterval: 10 * time.Second, RetryTimeout: 25 * time.Second}, 2, 10 * time.Second, errPlain, 10 * time.Second, true},
		{"schedule-to-close", history.ActivityOptions{MaxAttempts: 9, FirstRetryInterval: 4 * time.Second, ScheduleToClose: 5 * time.Second}, 1, 2 * time.Second, errPlain, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, retry := RetryDelay(tt.p, tt.attempt, tt.since, tt.err)
			if got != tt.want || retry != tt.retry {
				t.Errorf("RetryDelay = %v, %v; want %v, %v", got, retry, tt.want, tt.retry)
			}
		})
	}
}
