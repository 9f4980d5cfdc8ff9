package worker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/workflow"
)

// captured is a log record with every attribute it carries, from the
// logger's With and from the call.
type captured struct {
	msg   string
	attrs map[string]string
}

// capture is a slog.Handler that keeps the records logged through it.
type capture struct {
	mu      *sync.Mutex
	records *[]captured
	attrs   []slog.Attr
}

func newCapture() *capture { return &capture{mu: new(sync.Mutex), records: new([]captured)} }

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	rec := captured{msg: r.Message, attrs: map[string]string{}}
	for _, a := range c.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	*c.records = append(*c.records, rec)
	c.mu.Unlock()
	return nil
}

func (c *capture) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &capture{mu: c.mu, records: c.records, attrs: append(slices.Clip(c.attrs), attrs...)}
}

func (c *capture) WithGroup(string) slog.Handler { return c }

// find returns the first record with message msg.
func (c *capture) find(msg string) (captured, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range *c.records {
		if r.msg == msg {
			return r, true
		}
	}
	return captured{}, false
}

func logFromActivity(ctx context.Context) error {
	activity.Logger(ctx).Info("from the activity")
	return nil
}

func logFromWorkflow(ctx workflow.Context) error {
	workflow.Logger(ctx).Info("from the workflow")
	_, err := workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, logFromActivity).Get(ctx)
	return err
}

// TestLogRecordsCarryTheRun checks that the records of activity.Logger and
// workflow.Logger, written by a real worker on a real server, carry the
// run under the documented keys: instance_id and execution_id, plus the
// activity and its attempt, or the workflow.
func TestLogRecordsCarryTheRun(t *testing.T) {
	srv, err := embedded.Start(embedded.Options{})
	require.NoError(t, err)
	defer srv.Shutdown()
	nc, err := srv.Connect()
	require.NoError(t, err)
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace("logkeys"))
	require.NoError(t, err)
	logs := newCapture()
	w := New(b, &Options{Logger: slog.New(logs)})
	require.NoError(t, w.RegisterWorkflow(logFromWorkflow))
	require.NoError(t, w.RegisterActivity(logFromActivity))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.Start(ctx))
	defer func() {
		cancel()
		require.NoError(t, w.WaitForCompletion())
	}()

	c := client.New(b)
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "logged"}, logFromWorkflow)
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[struct{}](ctx, c, inst, 20*time.Second)
	require.NoError(t, err)

	act, ok := logs.find("from the activity")
	require.True(t, ok, "the activity's record was logged")
	for key, want := range map[string]string{
		"instance_id":  "logged",
		"execution_id": inst.ExecutionID,
		"activity":     "logFromActivity",
		"attempt":      "1",
	} {
		assert.Equal(t, want, act.attrs[key], "activity record attribute %s in %v", key, act.attrs)
	}

	wf, ok := logs.find("from the workflow")
	require.True(t, ok, "the workflow's record was logged")
	for key, want := range map[string]string{
		"instance_id":  "logged",
		"execution_id": inst.ExecutionID,
		"workflow":     "logFromWorkflow",
	} {
		assert.Equal(t, want, wf.attrs[key], "workflow record attribute %s in %v", key, wf.attrs)
	}
}
