package tester_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// Import copies rows, heartbeating its progress, and logs its attempt.
func Import(ctx context.Context, rows int) (string, error) {
	info := activity.GetInfo(ctx)
	activity.Logger(ctx).Info("importing", "rows", rows)
	for i := 1; i <= rows; i++ {
		activity.RecordHeartbeat(ctx, i)
	}
	return fmt.Sprintf("%d rows for %s in %s (attempt %d)", rows, info.InstanceID, info.ActivityName, info.Attempt), nil
}

func TestActivityEnvContext(t *testing.T) {
	var logs bytes.Buffer
	env := tester.NewActivityEnv()
	env.Info.Attempt = 2
	env.Info.ActivityName = "Import"
	env.Logger = slog.New(slog.NewTextHandler(&logs, nil))

	res, err := Import(env.Context(context.Background()), 3)
	require.NoError(t, err)
	assert.Equal(t, "3 rows for test-instance in Import (attempt 2)", res)
	assert.Equal(t, [][]any{{1}, {2}, {3}}, env.Heartbeats())
	assert.Contains(t, logs.String(),
		"msg=importing instance_id=test-instance execution_id=run-1 activity=Import attempt=2 rows=3",
		"activity.Logger carries the attempt as the worker's does")
}

func TestActivityEnvExecuteActivity(t *testing.T) {
	env := tester.NewActivityEnv()
	v, err := env.ExecuteActivity(Import, 2)
	require.NoError(t, err)
	var res string
	require.NoError(t, v.Get(&res))
	assert.Equal(t, "2 rows for test-instance in Import (attempt 1)", res)
	assert.Len(t, env.Heartbeats(), 2)
}

func Explode(ctx context.Context) error { panic("bang") }

func Fail(ctx context.Context) error { return workflow.NewPermanentError(errors.New("bad input")) }

func TestActivityEnvFailures(t *testing.T) {
	t.Run("panic", func(t *testing.T) {
		_, err := tester.NewActivityEnv().ExecuteActivity(Explode)
		var p *workflow.PanicError
		require.ErrorAs(t, err, &p)
		assert.Equal(t, "bang", p.Value)
	})
	t.Run("own error", func(t *testing.T) {
		v, err := tester.NewActivityEnv().ExecuteActivity(Fail)
		assert.EqualError(t, err, "bad input")
		assert.False(t, v.HasValue())
	})
	t.Run("start-to-close timeout", func(t *testing.T) {
		env := tester.NewActivityEnv()
		env.Options.StartToCloseTimeout = 20 * time.Millisecond
		_, err := env.ExecuteActivity(Slow, time.Hour, time.Duration(0))
		var werr *workflow.Error
		require.ErrorAs(t, err, &werr)
		assert.Equal(t, "Timeout", werr.Type)
		assert.Equal(t, "activity Slow: start-to-close timeout of 20ms exceeded", werr.Message)
	})
	t.Run("heartbeats recorded until done", func(t *testing.T) {
		env := tester.NewActivityEnv()
		env.Options.HeartbeatTimeout = 5 * time.Second
		_, err := env.ExecuteActivity(Slow, 30*time.Millisecond, time.Millisecond)
		require.NoError(t, err)
		assert.NotEmpty(t, env.Heartbeats())
	})
	t.Run("arguments that do not fit", func(t *testing.T) {
		_, err := tester.NewActivityEnv().ExecuteActivity(Import, "many")
		assert.ErrorIs(t, err, tester.ErrBadSetup)
		assert.ErrorContains(t, err, "argument 1: string does not fit int")
	})
}

// Resume continues from the row the last attempt recorded, and fails
// after failAt rows on its first attempt.
func Resume(ctx context.Context, rows, failAt int) (string, error) {
	from, ok := activity.HeartbeatDetails[int](ctx)
	for i := from + 1; i <= rows; i++ {
		activity.RecordHeartbeat(ctx, i)
		if activity.Attempt(ctx) == 1 && i == failAt {
			return "", fmt.Errorf("failed at row %d", i)
		}
	}
	return fmt.Sprintf("attempt %d resumed after row %d (%v)", activity.Attempt(ctx), from, ok), nil
}

func TestActivityEnvHeartbeatDetails(t *testing.T) {
	env := tester.NewActivityEnv()
	_, err := env.ExecuteActivity(Resume, 5, 3)
	require.ErrorContains(t, err, "failed at row 3")

	env.Info.Attempt = 2
	v, err := env.ExecuteActivity(Resume, 5, 3)
	require.NoError(t, err)
	var res string
	require.NoError(t, v.Get(&res))
	assert.Equal(t, "attempt 2 resumed after row 3 (true)", res)

	fresh := tester.NewActivityEnv()
	require.NoError(t, fresh.SetHeartbeatDetails(4))
	res, err = Resume(fresh.Context(context.Background()), 5, 0)
	require.NoError(t, err)
	assert.Equal(t, "attempt 1 resumed after row 4 (true)", res)

	res, err = Resume(tester.NewActivityEnv().Context(context.Background()), 5, 0)
	require.NoError(t, err)
	assert.Equal(t, "attempt 1 resumed after row 0 (false)", res, "no details: ok is false")
}

func CallResume(ctx workflow.Context, rows, failAt int) (string, error) {
	opts := workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 3, FirstRetryInterval: time.Second}}
	return workflow.ExecuteActivity[string](ctx, opts, Resume, rows, failAt).Get(ctx)
}

func TestWorkflowTesterHeartbeatDetailsAcrossRetries(t *testing.T) {
	tst := tester.NewWorkflowTester[string](CallResume, tester.WithTB(t))
	tst.RegisterActivity(Resume)
	tst.Execute(5, 2)
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "attempt 2 resumed after row 2 (true)", res)
}
