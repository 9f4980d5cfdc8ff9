package tester_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// asyncTokens receives the tokens of AskHuman calls.
var asyncTokens = make(chan []byte, 4)

// AskHuman leaves its result to a person.
func AskHuman(ctx context.Context, q string) (string, error) {
	asyncTokens <- activity.GetInfo(ctx).TaskToken
	return "", activity.ErrResultPending
}

// Ask waits for AskHuman's answer, at most an hour.
func Ask(ctx workflow.Context) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Hour}, AskHuman, "ok?").Get(ctx)
}

func TestAsyncActivityInTheTester(t *testing.T) {
	t.Run("completed", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Ask, tester.WithTB(t))
		tst.RegisterActivity(AskHuman)
		tst.ScheduleCallback(10*time.Minute, func() { tst.CompleteActivity(<-asyncTokens, "yes") })
		tst.Execute()
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "yes", res)
	})
	t.Run("timed out", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Ask, tester.WithTB(t))
		tst.RegisterActivity(AskHuman)
		start := tst.Now()
		tst.Execute()
		<-asyncTokens
		_, err := tst.WorkflowResult()
		var we *workflow.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, workflow.ErrTypeTimeout, we.Type)
		// Mock time follows the wall clock while the real activity runs: a hair past the hour.
		assert.InDelta(t, float64(time.Hour), float64(tst.Now().Sub(start)), float64(time.Second))
	})
}

// AskWithHeartbeat waits for AskHuman's answer, at most an hour, failing
// when the outside system goes 10 minutes without a heartbeat.
func AskWithHeartbeat(ctx workflow.Context) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Hour, HeartbeatTimeout: 10 * time.Minute},
		AskHuman, "ok?").Get(ctx)
}

func TestAsyncActivityHeartbeatsInTheTester(t *testing.T) {
	t.Run("heartbeats keep it alive", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](AskWithHeartbeat, tester.WithTB(t))
		tst.RegisterActivity(AskHuman)
		var token []byte
		tst.ScheduleCallback(time.Minute, func() { token = <-asyncTokens })
		for _, at := range []time.Duration{8, 16, 24} {
			tst.ScheduleCallback(at*time.Minute, func() { tst.RecordActivityHeartbeat(token) })
		}
		tst.ScheduleCallback(30*time.Minute, func() { tst.CompleteActivity(token, "yes") })
		tst.Execute()
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "yes", res)
	})
	t.Run("silence fails it", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](AskWithHeartbeat, tester.WithTB(t))
		tst.RegisterActivity(AskHuman)
		var token []byte
		tst.ScheduleCallback(time.Minute, func() { token = <-asyncTokens })
		tst.ScheduleCallback(8*time.Minute, func() { tst.RecordActivityHeartbeat(token) })
		start := tst.Now()
		tst.Execute()
		_, err := tst.WorkflowResult()
		var we *workflow.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, workflow.ErrTypeTimeout, we.Type)
		assert.Contains(t, we.Message, "heartbeat timeout")
		// The last heartbeat at 8 minutes moved the deadline to 18.
		assert.InDelta(t, float64(18*time.Minute), float64(tst.Now().Sub(start)), float64(time.Second))
	})
}
