package tester_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// AwaitApproval waits up to a day for two "approve" signals.
func AwaitApproval(ctx workflow.Context) (string, error) {
	n := 0
	ch := workflow.NewSignalChannel[string](ctx, "approve")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if _, ok := ch.Receive(ctx); !ok {
				return
			}
			n++
		}
	})
	ok, err := workflow.AwaitWithTimeout(ctx, 24*time.Hour, func() bool { return n >= 2 })
	if err != nil {
		return "", err
	}
	if !ok {
		return "expired", nil
	}
	return "approved", nil
}

func TestAwaitWithTimeoutInTheTester(t *testing.T) {
	tests := []struct {
		name    string
		signals []time.Duration
		want    string
		elapsed time.Duration
	}{
		{"approved", []time.Duration{time.Hour, 2 * time.Hour}, "approved", 2 * time.Hour},
		{"expired", []time.Duration{time.Hour, 25 * time.Hour}, "expired", 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](AwaitApproval, tester.WithTB(t), tester.WithReplayCheck())
			start := tst.Now()
			for _, d := range tt.signals {
				tst.ScheduleCallback(d, func() { tst.SignalWorkflow("approve", "x") })
			}
			tst.Execute()
			require.True(t, tst.WorkflowFinished())
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
			assert.Equal(t, tt.elapsed, tst.Now().Sub(start))
		})
	}
}

func TestAwaitConditionCanceledInTheTester(t *testing.T) {
	tst := tester.NewWorkflowTester[bool](func(ctx workflow.Context) (bool, error) {
		err := workflow.AwaitCondition(ctx, func() bool { return false })
		return errors.Is(err, workflow.Canceled), nil
	}, tester.WithTB(t))
	tst.ScheduleCallback(time.Minute, tst.CancelWorkflow)
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.True(t, res)
}
