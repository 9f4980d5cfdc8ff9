package workflow_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func TestGetInfoReplayingAndLogger(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	var infos []workflow.Info
	var replaying []bool
	wf := func(ctx workflow.Context) error {
		infos = append(infos, workflow.GetInfo(ctx))
		replaying = append(replaying, workflow.Replaying(ctx))
		workflow.Logger(ctx).Info("before sleep")
		workflow.Sleep(ctx, 1)
		replaying = append(replaying, workflow.Replaying(ctx))
		workflow.Logger(ctx).Info("after sleep", "n", 1)
		infos = append(infos, workflow.GetInfo(ctx))
		return nil
	}
	r := enginetest.New(t, engine.Options{InstanceID: "order-42", ExecutionID: "x-1", Logger: logger}, engine.Workflows{"Order": wf})
	start := r.Started("Order")
	start.Parent = &history.Parent{InstanceID: "p", ExecutionID: "px", ScheduleID: 3}
	start.ContinuedExecutionID = "x-0"
	timer := r.Do(start)[1]
	r.Do(r.TimerFired(timer.ID))
	require.Len(t, infos, 2)
	assert.Equal(t, workflow.Info{
		InstanceID: "order-42", ExecutionID: "x-1", ContinuedExecutionID: "x-0", WorkflowName: "Order",
		Queue: "q1", HistoryLength: 1, Parent: &workflow.Instance{InstanceID: "p", ExecutionID: "px"}, Attempt: 1,
	}, infos[0])
	assert.Equal(t, int64(3), infos[1].HistoryLength)
	assert.Equal(t, []bool{false, false}, replaying)

	const want = "level=INFO msg=\"before sleep\" instance_id=order-42 execution_id=x-1 workflow=Order\n" +
		"level=INFO msg=\"after sleep\" instance_id=order-42 execution_id=x-1 workflow=Order n=1\n"
	assert.Equal(t, want, logs.String())

	// A replay logs nothing and reports Replaying.
	replaying = nil
	r.ReplayCheck()
	assert.Equal(t, []bool{true, true}, replaying)
	assert.Equal(t, want, logs.String())
}
