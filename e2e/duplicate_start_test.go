package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
)

// A run's first task skips reading the history when it holds the run's
// start on its first delivery. A start published again after JetStream's
// duplicate window (a recovery republishing a continue-as-new start, say)
// is delivered for the first time too, to a run that has a history: the
// worker's guess is wrong, its commit must fail the sequence check, and the
// task must re-read and recognise the start as applied.
func TestStartRepublishedAfterTheDuplicateWindow(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		srv := testenv.Server(t)
		const window = time.Second // the shortest JetStream allows
		b := testenv.Namespace(t, srv, "dup", streams.WithDuplicateWindow(window))
		e := &env{t: t, srv: srv, b: b, c: client.New(b), opts: opts}
		e.w = e.startWorker(func(w *worker.Worker) { must(t, w.RegisterWorkflow(Collect)) })
		ctx := ctxFor(t)

		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "twice-started"}, Collect, 1)
		require.NoError(t, err)
		var start history.Event
		waitFor(t, 10*time.Second, "the run's first commit", func() bool {
			h, err := b.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
			if err != nil || len(h.Commits) == 0 {
				return false
			}
			start = h.Events()[0]
			return true
		})
		require.Equal(t, history.WorkflowStarted, start.Kind)

		// Past the window, the same start is a new message.
		time.Sleep(window + 200*time.Millisecond)
		start.ID = 0
		require.NoError(t, b.PublishEvent(ctx, "default", inst.InstanceID, &start))
		waitFor(t, 10*time.Second, "the republished start to be handled", func() bool {
			info, err := b.JetStream().Stream(ctx, "WF_"+b.Namespace()+"_TASKS")
			return err == nil && info.CachedInfo().State.Msgs == 0
		})

		require.NoError(t, e.c.SignalWorkflow(ctx, "twice-started", "num", 7))
		res, err := client.GetWorkflowResult[[]int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{7}, res)
		h, err := b.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
		require.NoError(t, err)
		starts := 0
		for _, ev := range h.Events() {
			if ev.Kind == history.WorkflowStarted {
				starts++
			}
		}
		assert.Equal(t, 1, starts, "the history holds one start")
	})
}
