package e2e

// Bad input from workflow code: calls with arguments that do not fit, names
// nobody registered, IDs that cannot be used, payloads too large. Each gets a
// clear error in the workflow (at once where it can be checked in the
// workflow, as the command's failure otherwise); the run itself goes on.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// BICall is the outcome of one bad call made by BIBadCalls.
type BICall struct {
	Name string
	// AtOnce: the future was ready right after the call (nothing was
	// scheduled).
	AtOnce    bool
	Err       string
	Type      string // of a *workflow.Error
	Permanent bool
	NotFound  bool // errors.Is(err, workflow.ErrInstanceNotFound)
	Exists    bool // errors.Is(err, workflow.ErrInstanceAlreadyExists)
}

type biFuture interface {
	Ready() bool
	err(ctx workflow.Context) error
}

type biF[T any] struct{ workflow.Future[T] }

func (f biF[T]) err(ctx workflow.Context) error {
	_, err := f.Get(ctx)
	return err
}

// BIBadCalls makes every bad call at once and reports how each ended.
func BIBadCalls(ctx workflow.Context, finished string) ([]BICall, error) {
	o := workflow.DefaultActivityOptions
	o.StartToCloseTimeout = 10 * time.Second
	tooLong := strings.Repeat("x", streams.MaxInstanceIDLength+1)
	calls := []struct {
		name string
		f    biFuture
	}{
		{"activity: wrong argument type", biF[int]{workflow.ExecuteActivity[int](ctx, o, BIDouble, "x")}},
		{"activity: missing argument", biF[int]{workflow.ExecuteActivity[int](ctx, o, BIDouble)}},
		{"activity: result type", biF[string]{workflow.ExecuteActivity[string](ctx, o, BIDouble, 1)}},
		{"activity: channel argument by name", biF[int]{workflow.ExecuteActivity[int](ctx, o, "BIDouble", make(chan int))}},
		{"activity: anonymous", biF[int]{workflow.ExecuteActivity[int](ctx, o, func(context.Context) (int, error) { return 0, nil })}},
		{"activity: not a function", biF[int]{workflow.ExecuteActivity[int](ctx, o, 42)}},
		{"activity: empty name", biF[int]{workflow.ExecuteActivity[int](ctx, o, "")}},
		{"activity: a workflow", biF[int]{workflow.ExecuteActivity[int](ctx, o, BIGood, 1)}},
		{"timer: negative", biF[struct{}]{workflow.ScheduleTimer(ctx, -time.Second)}},
		{"activity: wrong argument by name", biF[int]{workflow.ExecuteActivity[int](ctx, o, "BIDouble", "x")}},
		{"activity: unknown", biF[int]{workflow.ExecuteActivity[int](ctx, o, "NoSuchActivity", 1)}},
		{"activity: result type by name", biF[string]{workflow.ExecuteActivity[string](ctx, o, "BIDouble", 1)}},
		{"activity: result too large", biF[string]{workflow.ExecuteActivity[string](ctx, o, BIMake, 2*smallPayload)}},
		{"child: ID too long", biF[int]{workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: tooLong}, BIGood, 1)}},
		{"child: ID not UTF-8", biF[int]{workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "\xff"}, BIGood, 1)}},
		{"child: unknown workflow", biF[int]{workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, "NoSuchWorkflow")}},
		{"child: wrong argument", biF[int]{workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, BIGood, "x")}},
		{"child: wrong argument by name", biF[int]{workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, "BIGood", "x")}},
		{"child: the parent's own ID", biF[int]{workflow.CreateSubWorkflowInstance[int](ctx,
			workflow.SubWorkflowOptions{InstanceID: workflow.GetInfo(ctx).InstanceID}, BIGood, 1)}},
		{"signal: missing instance", biF[struct{}]{workflow.SignalWorkflow(ctx, "nobody", "go", 1)}},
		{"signal: ID too long", biF[struct{}]{workflow.SignalWorkflow(ctx, tooLong, "go", 1)}},
		{"signal: finished instance", biF[struct{}]{workflow.SignalWorkflow(ctx, finished, "go", 1)}},
		{"signal: empty ID", biF[struct{}]{workflow.SignalWorkflow(ctx, "", "go", 1)}},
		{"signal: empty name", biF[struct{}]{workflow.SignalWorkflow(ctx, finished, "", 1)}},
		{"signal: channel payload", biF[struct{}]{workflow.SignalWorkflow(ctx, finished, "go", make(chan int))}},
	}
	out := make([]BICall, len(calls))
	for i, c := range calls {
		out[i] = BICall{Name: c.name, AtOnce: c.f.Ready()}
	}
	for i, c := range calls {
		err := c.f.err(ctx)
		if err == nil {
			out[i].Err = "<nil>"
			continue
		}
		out[i].Err = err.Error()
		var we *workflow.Error
		if errors.As(err, &we) {
			out[i].Type = we.Type
		}
		out[i].Permanent = engine.IsPermanent(err)
		out[i].NotFound = errors.Is(err, workflow.ErrInstanceNotFound)
		out[i].Exists = errors.Is(err, workflow.ErrInstanceAlreadyExists)
	}
	if err := workflow.ContinueAsNew(ctx, 1, 2); err != nil {
		out = append(out, BICall{Name: "continue-as-new: wrong arguments", AtOnce: true, Err: err.Error()})
	}
	return out, nil
}

func TestBadInputWorkflowCalls(t *testing.T) {
	e := newBadEnv(t, smallPayload, badInputOptions(), func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(BIBadCalls))
		must(t, w.RegisterActivity(BIMake))
	})
	good := e.goodRun(1)
	finished, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "finished"}, BIGood, 1)
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[int](e.ctx, e.c, finished, 30*time.Second)
	require.NoError(t, err)

	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "bad-caller"}, BIBadCalls, "finished")
	require.NoError(t, err)
	calls, err := client.GetWorkflowResult[[]BICall](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err, "bad calls do not fail the run")

	want := map[string]struct {
		atOnce bool
		parts  []string
		check  func(t *testing.T, c BICall)
	}{
		"activity: wrong argument type":      {true, []string{"workflow.ExecuteActivity: BIDouble: argument 1: string does not fit int"}, nil},
		"activity: missing argument":         {true, []string{"BIDouble: takes 1 arguments (int), got 0"}, nil},
		"activity: result type":              {true, []string{"BIDouble returns int, which does not fit the result type string"}, nil},
		"activity: channel argument by name": {true, []string{"workflow.ExecuteActivity(BIDouble): encode argument 1", "chan int"}, nil},
		"activity: anonymous":                {true, []string{"anonymous function"}, nil},
		"activity: not a function":           {true, []string{"int is not a function"}, nil},
		"activity: empty name":               {true, []string{"empty name"}, nil},
		"activity: a workflow":               {true, []string{"BIGood", "context.Context"}, nil},
		"timer: negative":                    {true, []string{"negative duration -1s"}, nil},
		"activity: wrong argument by name": {false, []string{"argument 1: cannot decode into int"}, func(t *testing.T, c BICall) {
			assert.True(t, c.Permanent, "an argument that does not fit is not retried")
		}},
		"activity: unknown": {false, []string{`no worker of queue "default" has activity "NoSuchActivity" registered`}, func(t *testing.T, c BICall) {
			assert.Equal(t, "UnknownActivity", c.Type)
			assert.True(t, c.Permanent)
		}},
		"activity: result type by name": {false, []string{"activity BIDouble: decode result into string"}, nil},
		"activity: result too large": {false, []string{"activity BIMake: result too large", "payload too large", "65536"}, func(t *testing.T, c BICall) {
			assert.Equal(t, "PayloadTooLarge", c.Type)
			assert.True(t, c.Permanent)
		}},
		"child: ID too long": {false, []string{"instance ID is 256 bytes long, the limit is 255"}, func(t *testing.T, c BICall) {
			assert.Equal(t, "InvalidInstanceID", c.Type)
		}},
		"child: ID not UTF-8": {false, []string{"instance ID is not valid UTF-8"}, func(t *testing.T, c BICall) {
			assert.Equal(t, "InvalidInstanceID", c.Type)
		}},
		"child: unknown workflow": {false, []string{`no worker of queue "default" has workflow "NoSuchWorkflow" registered`}, func(t *testing.T, c BICall) {
			assert.Equal(t, "UnknownWorkflow", c.Type)
		}},
		"child: wrong argument": {true, []string{"workflow.CreateSubWorkflowInstance: BIGood: argument 1: string does not fit int"}, nil},
		"child: wrong argument by name": {false, []string{"workflow BIGood: argument 1: cannot decode into int"}, func(t *testing.T, c BICall) {
			assert.Equal(t, workflow.ErrTypeArgument, c.Type)
		}},
		"child: the parent's own ID": {false, []string{`sub-workflow instance "bad-caller" already exists and is running`}, func(t *testing.T, c BICall) {
			assert.True(t, c.Exists, "matches workflow.ErrInstanceAlreadyExists")
		}},
		"signal: missing instance": {false, []string{`instance "nobody" not found`}, func(t *testing.T, c BICall) {
			assert.True(t, c.NotFound, "matches workflow.ErrInstanceNotFound")
		}},
		"signal: ID too long": {false, []string{"not found"}, func(t *testing.T, c BICall) {
			assert.True(t, c.NotFound, "matches workflow.ErrInstanceNotFound")
		}},
		"signal: finished instance": {false, []string{`instance "finished" has finished (completed)`}, func(t *testing.T, c BICall) {
			assert.True(t, c.NotFound, "matches workflow.ErrInstanceNotFound")
		}},
		"signal: empty ID":                 {true, []string{"empty instance ID or signal name"}, nil},
		"signal: empty name":               {true, []string{"empty instance ID or signal name"}, nil},
		"signal: channel payload":          {true, []string{"workflow.SignalWorkflow(finished, go): encode", "chan int"}, nil},
		"continue-as-new: wrong arguments": {true, []string{"workflow.ContinueAsNew: takes 1 arguments (string), got 2"}, nil},
	}
	require.Len(t, calls, len(want))
	for _, c := range calls {
		w, ok := want[c.Name]
		if !assert.True(t, ok, "unexpected call %q", c.Name) {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			assert.Equal(t, w.atOnce, c.AtOnce, "failed at once")
			for _, p := range w.parts {
				assert.Contains(t, c.Err, p)
			}
			if w.check != nil {
				w.check(t, c)
			}
		})
	}

	// Only the calls that could not be checked in the workflow reached
	// the history.
	h, err := e.c.GetWorkflowHistory(e.ctx, inst)
	require.NoError(t, err)
	counts := map[history.Kind]int{}
	for _, ev := range h.Events {
		counts[ev.Kind]++
	}
	assert.Equal(t, 4, counts[history.ActivityScheduled])
	assert.Equal(t, 5, counts[history.SubWorkflowScheduled])
	assert.Equal(t, 3, counts[history.SignalWorkflowScheduled])
	assert.Zero(t, counts[history.TimerScheduled])

	// Nothing was left behind: no registry entry for the children that
	// could not start, the parent's record untouched by the child that
	// tried to take its ID, the queues drained, nothing dead-lettered.
	d, err := e.c.DescribeWorkflowInstance(e.ctx, "bad-caller")
	require.NoError(t, err)
	assert.Equal(t, streams.StatusCompleted, d.Status)
	assert.Equal(t, "BIBadCalls", d.WorkflowName)
	assert.Nil(t, d.Parent)
	page, err := e.c.ListWorkflowInstances(e.ctx, client.ListOptions{})
	require.NoError(t, err)
	names := map[string]int{}
	for _, in := range page.Instances {
		names[in.WorkflowName]++
	}
	// BIGood: good, finished, the child by name; NoSuchWorkflow: the
	// unknown child.
	assert.Equal(t, map[string]int{"BIGood": 3, "BIBadCalls": 1, "NoSuchWorkflow": 1}, names)
	good()
	e.inboxDrained(20 * time.Second)
	e.activitiesDrained(20 * time.Second)
	assert.Empty(t, mustDeadLetters(t, e))
}
