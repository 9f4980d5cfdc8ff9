package tester_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

// ByName calls an activity and a sub-workflow by their registered names.
func ByName(ctx workflow.Context, item string) (string, error) {
	workflow.Logger(ctx).Info("packing by name", "item", item)
	box, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, "pack-v2", item).Get(ctx)
	if err != nil {
		return "", err
	}
	return workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, "packer-v2", box).Get(ctx)
}

func TestRegisterWithName(t *testing.T) {
	var logs bytes.Buffer
	tst := tester.NewWorkflowTester[string](ByName, tester.WithTB(t),
		tester.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	tst.RegisterActivity(Pack, tester.WithName("pack-v2"))
	tst.RegisterActivity(Pack) // as Packer calls it
	tst.RegisterWorkflow(Packer, tester.WithName("packer-v2"))
	tst.Execute("mug")
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "box of box of mug", res)
	assert.Contains(t, logs.String(), `msg="packing by name" instance_id=test-instance execution_id=run-1 workflow=ByName item=mug`)
}

// jsonConverter is a converter other than the default, counting its use.
type jsonConverter struct{ encoded atomic.Int64 }

func (c *jsonConverter) Encode(v any) ([]byte, error) {
	c.encoded.Add(1)
	return json.Marshal(v)
}

func (c *jsonConverter) Decode(data []byte, v any) error { return json.Unmarshal(data, v) }

func TestWithConverter(t *testing.T) {
	conv := &jsonConverter{}
	tst := tester.NewWorkflowTester[string](Deadline, tester.WithTB(t), tester.WithConverter(conv))
	tst.SignalWorkflow("go", "ann")
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Contains(t, res, "signal from ann")
	assert.GreaterOrEqual(t, conv.encoded.Load(), int64(2), "the signal and the result")
}

func TestBadMockReturns(t *testing.T) {
	tests := []struct {
		name string
		ret  []any
		want string
	}{
		{"value missing", []any{"receipt"},
			"the mock of activity Charge: it returns (string, error), so Return needs a value and an error (or a function of that type), got 1 values"},
		{"value of the wrong type", []any{47, nil},
			"the mock of activity Charge: it returns string, but Return was given a int"},
		{"not an error", []any{"receipt", "oops"},
			"the mock of activity Charge: Return was given string where the error goes"},
		{"function of the wrong shape", []any{func(n int) int { return n }},
			"the mock of activity Charge: Return was given a function that cannot run as the activity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newFakeTB(t)
			tst := tester.NewWorkflowTester[string](Checkout, tester.WithTB(tb))
			tst.OnActivity(Charge, mock.Anything, mock.Anything, mock.Anything).Return(tt.ret...)
			tst.Execute(Order{})
			assert.Contains(t, tb.failure(t), tt.want)
			assert.ErrorIs(t, tst.Err(), tester.ErrBadSetup)
		})
	}
}

func Notifier(ctx context.Context, to string) error { return nil }

func CallNotifier(ctx workflow.Context) (string, error) {
	once := workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 1}}
	_, err := workflow.ExecuteActivity[struct{}](ctx, once, Notifier, "ann").Get(ctx)
	return "sent", err
}

func TestErrorOnlyActivityMock(t *testing.T) {
	for _, tt := range []struct {
		name string
		ret  []any
		want string
	}{
		{"success", []any{nil}, "sent"},
		{"no values", nil, "sent"},
		{"failure", []any{workflow.NewError("Bounced", "mailbox full")}, "mailbox full"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](CallNotifier, tester.WithTB(t))
			tst.OnActivity(Notifier, mock.Anything, "ann").Return(tt.ret...)
			tst.Execute()
			res, err := tst.WorkflowResult()
			if err != nil {
				res = err.Error()
			}
			assert.Equal(t, tt.want, res)
		})
	}
}
