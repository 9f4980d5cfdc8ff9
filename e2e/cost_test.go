package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
)

// TestQuickstartMessageCost counts the JetStream messages one quickstart
// workflow (two activities) stores, per stream. The count is part of the
// performance model: a change that adds writes should show up here.
func TestQuickstartMessageCost(t *testing.T) {
	e := newEnv(t, worker.Options{}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(Quickstart))
		must(t, w.RegisterActivity(Add))
	})
	ctx := ctxFor(t)
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Quickstart, "count me")
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
	require.NoError(t, err)
	// The finish's list-index writes are queued, not waited for: a list
	// on the same backend waits for them.
	_, err = e.b.ListInstances(ctx, streams.ListOptions{Limit: 1})
	require.NoError(t, err)

	stored := map[string]uint64{}
	var total uint64
	js := e.b.JetStream()
	for name := range js.StreamNames(ctx).Name() {
		s, err := js.Stream(ctx, name)
		require.NoError(t, err)
		stored[name] = s.CachedInfo().State.LastSeq
		total += stored[name]
	}
	t.Logf("messages stored by one quickstart workflow: %d %v", total, stored)
	ns := e.b.Namespace()
	assert.Equal(t, map[string]uint64{
		"WF_" + ns + "_HISTORY":      3, // one commit per workflow task
		"WF_" + ns + "_TASKS":        3, // start, two activity results
		"WF_" + ns + "_ACTIVITIES":   2, // two activity tasks
		"WF_" + ns + "_DEAD":         0,
		"KV_wf_" + ns + "_instances": 2, // created, finished
		"WF_" + ns + "_INDEX":        2, // the list row at start, moved at the end
		"WF_" + ns + "_COUNTS":       3, // +1 running; -1 running, +1 completed
	}, stored)
}
