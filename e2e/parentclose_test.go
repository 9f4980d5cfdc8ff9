package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// pcActivityCanceled receives the instance ID of a PCBlock activity whose
// context was canceled.
var pcActivityCanceled = make(chan string, 16)

// PCBlock runs until its context ends.
func PCBlock(ctx context.Context, id string) error {
	<-ctx.Done()
	pcActivityCanceled <- id
	return ctx.Err()
}

// PCChild sleeps for an hour, unless canceled.
func PCChild(ctx workflow.Context) error {
	return workflow.Sleep(ctx, time.Hour)
}

// PCParent starts a blocking activity and one child per parent-close
// policy, then waits for a signal: it ends only when terminated, or when
// "done" arrives.
func PCParent(ctx workflow.Context, id string) error {
	opts := workflow.DefaultActivityOptions
	opts.StartToCloseTimeout = time.Minute
	workflow.ExecuteActivity[struct{}](ctx, opts, PCBlock, id)
	for _, c := range []struct {
		suffix string
		policy workflow.ParentClosePolicy
	}{{"-terminate", workflow.ParentCloseTerminate}, {"-cancel", workflow.ParentCloseCancel}, {"-abandon", workflow.ParentCloseAbandon}} {
		workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{
			InstanceID: id + c.suffix, ParentClosePolicy: c.policy,
		}, PCChild)
	}
	workflow.NewSignalChannel[string](ctx, "done").Receive(ctx)
	return nil
}

// A run that ends (terminated, or returning while its work still runs)
// cancels its running activity and ends its children by their parent-close
// policy: terminate, cancel, or leave running.
func TestParentClosePolicies(t *testing.T) {
	for _, end := range []string{"terminated", "completed"} {
		t.Run(end, func(t *testing.T) {
			forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
				e := newEnv(t, opts, func(w *worker.Worker) {
					must(t, w.RegisterWorkflow(PCParent))
					must(t, w.RegisterWorkflow(PCChild))
					must(t, w.RegisterActivity(PCBlock))
				})
				ctx := ctxFor(t)
				id := uniqueID("pc")
				inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, PCParent, id)
				require.NoError(t, err)
				status := func(id string) streams.Status {
					d, err := e.c.DescribeWorkflowInstance(ctx, id)
					if err != nil {
						return ""
					}
					return d.Status
				}
				waitFor(t, 10*time.Second, "the children to start", func() bool {
					return status(id+"-terminate") == streams.StatusRunning && status(id+"-cancel") == streams.StatusRunning &&
						status(id+"-abandon") == streams.StatusRunning
				})

				if end == "terminated" {
					require.NoError(t, e.c.TerminateWorkflowInstance(ctx, inst, "enough"))
				} else {
					require.NoError(t, e.c.SignalWorkflow(ctx, id, "done", "now"))
				}
				_, err = client.GetWorkflowResult[struct{}](ctx, e.c, inst, 10*time.Second)
				if end == "terminated" {
					require.ErrorIs(t, err, client.ErrWorkflowTerminated)
				} else {
					require.NoError(t, err)
				}

				select {
				case got := <-pcActivityCanceled:
					assert.Equal(t, id, got, "the run's activity is canceled")
				case <-time.After(10 * time.Second):
					t.Fatal("the run's running activity was not canceled")
				}
				waitFor(t, 10*time.Second, "the terminate-policy child to be terminated", func() bool {
					return status(id+"-terminate") == streams.StatusTerminated
				})
				waitFor(t, 10*time.Second, "the cancel-policy child to be canceled", func() bool {
					return status(id+"-cancel") == streams.StatusCanceled
				})
				d, err := e.c.DescribeWorkflowInstance(ctx, id+"-terminate")
				require.NoError(t, err)
				require.NotNil(t, d.Failure)
				assert.Contains(t, d.Failure.Message, "parent-close policy: terminate")
				assert.Equal(t, streams.StatusRunning, status(id+"-abandon"), "the abandoned child runs on")
			})
		})
	}
}
