package tester_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Logged is an activity that logs through activity.Logger.
func Logged(ctx context.Context) error {
	activity.Logger(ctx).Info("from the activity")
	return nil
}

func CallsLogged(ctx workflow.Context) error {
	_, err := workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, Logged).Get(ctx)
	return err
}

// TestActivityLoggerCarriesTheRun checks that the tester's activity.Logger
// carries the run as the worker's does.
func TestActivityLoggerCarriesTheRun(t *testing.T) {
	var logs bytes.Buffer
	tst := tester.NewWorkflowTester[struct{}](CallsLogged, tester.WithTB(t),
		tester.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	tst.RegisterActivity(Logged)
	tst.Execute()
	_, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Contains(t, logs.String(),
		`msg="from the activity" instance_id=test-instance execution_id=run-1 activity=Logged attempt=1`)
}
