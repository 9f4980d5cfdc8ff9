package tester_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// FlakyChild fails its first `fails` attempts, then reports its attempt.
func FlakyChild(ctx workflow.Context, fails int) (string, error) {
	info := workflow.GetInfo(ctx)
	if info.Attempt <= fails {
		return "", fmt.Errorf("attempt %d failed", info.Attempt)
	}
	return fmt.Sprintf("attempt %d of %s", info.Attempt, info.InstanceID), nil
}

// SleepyChild sleeps for d.
func SleepyChild(ctx workflow.Context, d time.Duration) (string, error) {
	return "slept", workflow.Sleep(ctx, d)
}

// RunOptionsParent starts child with opts and reports its outcome and
// the mock time it took.
func RunOptionsParent(ctx workflow.Context, opts workflow.SubWorkflowOptions, child string, arg any) (string, error) {
	start := workflow.Now(ctx)
	res, err := workflow.CreateSubWorkflowInstance[string](ctx, opts, child, arg).Get(ctx)
	took := workflow.Now(ctx).Sub(start)
	if err != nil {
		var we *workflow.Error
		if errors.As(err, &we) {
			return fmt.Sprintf("%s: %s after %v", we.Type, we.Message, took), nil
		}
		return fmt.Sprintf("%v after %v", err, took), nil
	}
	return fmt.Sprintf("%s after %v", res, took), nil
}

func TestSubWorkflowRetriesAndTimeoutsInTheTester(t *testing.T) {
	tests := []struct {
		name  string
		opts  workflow.SubWorkflowOptions
		child string
		arg   any
		want  string
	}{
		{"no policy: one run", workflow.SubWorkflowOptions{InstanceID: "c"}, "FlakyChild", 2,
			": attempt 1 failed after 0s"},
		{"retried until it succeeds", workflow.SubWorkflowOptions{InstanceID: "c",
			RetryOptions: &workflow.RetryOptions{FirstRetryInterval: time.Minute}}, "FlakyChild", 2,
			"attempt 3 of c after 3m0s"},
		{"attempts run out", workflow.SubWorkflowOptions{InstanceID: "c",
			RetryOptions: &workflow.RetryOptions{MaxAttempts: 2, FirstRetryInterval: time.Minute}}, "FlakyChild", 5,
			": attempt 2 failed after 1m0s"},
		{"the execution timeout ends the retries", workflow.SubWorkflowOptions{InstanceID: "c", ExecutionTimeout: 25 * time.Minute,
			RetryOptions: &workflow.RetryOptions{FirstRetryInterval: 10 * time.Minute}}, "FlakyChild", 5,
			": attempt 2 failed after 10m0s"},
		{"run timeout", workflow.SubWorkflowOptions{InstanceID: "c", RunTimeout: time.Hour}, "SleepyChild", 2 * time.Hour,
			"Timeout: workflow SleepyChild: run timeout of 1h0m0s exceeded after 1h0m0s"},
		{"execution timeout", workflow.SubWorkflowOptions{InstanceID: "c", ExecutionTimeout: time.Hour}, "SleepyChild", 2 * time.Hour,
			"Timeout: workflow SleepyChild: execution timeout of 1h0m0s exceeded after 1h0m0s"},
		{"a run timeout is retried", workflow.SubWorkflowOptions{InstanceID: "c", RunTimeout: time.Hour,
			RetryOptions: &workflow.RetryOptions{MaxAttempts: 2, FirstRetryInterval: time.Minute}}, "SleepyChild", 2 * time.Hour,
			"Timeout: workflow SleepyChild: run timeout of 1h0m0s exceeded after 2h1m0s"},
		{"an execution timeout is not", workflow.SubWorkflowOptions{InstanceID: "c", ExecutionTimeout: time.Hour,
			RetryOptions: &workflow.RetryOptions{FirstRetryInterval: time.Minute}}, "SleepyChild", 2 * time.Hour,
			"Timeout: workflow SleepyChild: execution timeout of 1h0m0s exceeded after 1h0m0s"},
		{"fast enough", workflow.SubWorkflowOptions{InstanceID: "c", RunTimeout: time.Hour}, "SleepyChild", time.Minute,
			"slept after 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](RunOptionsParent, tester.WithTB(t), tester.WithReplayCheck())
			tst.RegisterWorkflow(FlakyChild)
			tst.RegisterWorkflow(SleepyChild)
			tst.Execute(tt.opts, tt.child, tt.arg)
			require.True(t, tst.WorkflowFinished())
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
		})
	}
}
