package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func CtxOptChild(ctx workflow.Context) error { return nil }

// Zero options mean the context's; given options are used as they are;
// derived contexts carry the options on.
func TestOptionsCarriedByTheContext(t *testing.T) {
	ctxOpts := workflow.ActivityOptions{Queue: "acts", StartToCloseTimeout: time.Minute, RetryOptions: workflow.RetryOptions{MaxAttempts: 4}}
	r := enginetest.Start(t, func(ctx workflow.Context) error {
		workflow.ExecuteActivity[struct{}](ctx, workflow.ActivityOptions{}, Notify) // no options anywhere
		ctx = workflow.WithActivityOptions(ctx, ctxOpts)
		ctx = workflow.WithSubWorkflowOptions(ctx, workflow.SubWorkflowOptions{Queue: "kids", ParentClosePolicy: workflow.ParentCloseAbandon})
		workflow.ExecuteActivity[struct{}](ctx, workflow.ActivityOptions{}, Notify, "ctx")
		workflow.ExecuteActivity[struct{}](ctx, workflow.ActivityOptions{Queue: "own"}, Notify, "own")
		cctx, _ := workflow.WithCancel(ctx) // never canceled: a canceled command would be dropped
		workflow.ExecuteActivity[struct{}](cctx, workflow.ActivityOptions{}, Notify, "derived")
		workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{}, CtxOptChild)
		workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{Queue: "own"}, CtxOptChild)
		if got := workflow.GetActivityOptions(ctx); got != ctxOpts {
			panic("GetActivityOptions")
		}
		return nil
	})
	var acts, subs []history.Event
	for _, ev := range r.History() {
		switch ev.Kind {
		case history.ActivityScheduled:
			acts = append(acts, ev)
		case history.SubWorkflowScheduled:
			subs = append(subs, ev)
		}
	}
	require.Len(t, acts, 4)
	assert.Equal(t, "q1", acts[0].Queue, "no options: the workflow's queue")
	assert.Equal(t, history.UnlimitedAttempts, acts[0].Activity.MaxAttempts)
	assert.Equal(t, "acts", acts[1].Queue)
	assert.Equal(t, 4, acts[1].Activity.MaxAttempts)
	assert.Equal(t, time.Minute, acts[1].Activity.StartToClose)
	assert.Equal(t, "own", acts[2].Queue)
	assert.Equal(t, history.UnlimitedAttempts, acts[2].Activity.MaxAttempts, "given options are not merged")
	assert.Equal(t, "acts", acts[3].Queue, "a derived context carries the options")
	require.Len(t, subs, 2)
	assert.Equal(t, "kids", subs[0].Queue)
	assert.Equal(t, history.ParentCloseAbandon, subs[0].ParentClose)
	assert.Equal(t, "own", subs[1].Queue)
	assert.Equal(t, history.ParentCloseTerminate, subs[1].ParentClose)
}
