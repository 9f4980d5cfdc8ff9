package worker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// upsertWorkflow upserts search attributes in each of two runs.
func upsertWorkflow(ctx workflow.Context, n int) (int, error) {
	if err := workflow.UpsertSearchAttributes(ctx, map[string]string{"bad key": "x"}); !errors.Is(err, streams.ErrInvalidSearchAttribute) {
		return 0, fmt.Errorf("an invalid upsert gave %v", err)
	}
	if n == 0 {
		if err := workflow.UpsertSearchAttributes(ctx, map[string]string{"stage": "one", "customer": ""}); err != nil {
			return 0, err
		}
		return 0, workflow.ContinueAsNew(ctx, 1)
	}
	if err := workflow.UpsertSearchAttributes(ctx, map[string]string{"stage": "two"}); err != nil {
		return 0, err
	}
	return n, nil
}

// TestUpsertSearchAttributes: upserts are recorded in the history, applied
// to the registry record and the list index at commit, and the start's
// attributes are kept across continue-as-new.
func TestUpsertSearchAttributes(t *testing.T) {
	e := newTestEnv(t, nil, func(w *Worker) { require.NoError(t, w.RegisterWorkflow(upsertWorkflow)) })
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "ups",
		SearchAttributes: map[string]string{"customer": "acme", "region": "eu"}}, upsertWorkflow, 0)
	require.NoError(t, err)
	got, err := client.GetWorkflowResult[int](e.ctx, e.c, &workflow.Instance{InstanceID: inst.InstanceID}, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 1, got)

	d, err := e.c.DescribeWorkflowInstance(e.ctx, "ups")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"region": "eu", "stage": "two"}, d.SearchAttributes)

	list := func(attrs map[string]string) []string {
		page, err := e.c.ListWorkflowInstances(e.ctx, client.ListOptions{SearchAttributes: attrs})
		require.NoError(t, err)
		var ids []string
		for _, in := range page.Instances {
			ids = append(ids, in.InstanceID)
		}
		return ids
	}
	assert.Equal(t, []string{"ups"}, list(map[string]string{"stage": "two", "region": "eu"}))
	assert.Empty(t, list(map[string]string{"stage": "one"}))
	assert.Empty(t, list(map[string]string{"customer": "acme"}))

	// The first run's history holds its upsert.
	h, err := e.b.ReadHistory(e.ctx, "ups", inst.ExecutionID)
	require.NoError(t, err)
	var upserts []map[string]string
	for _, c := range h.Commits {
		for _, ev := range c.Events {
			if ev.Kind == history.SearchAttributesUpserted {
				upserts = append(upserts, ev.SearchAttributes)
			}
		}
	}
	assert.Equal(t, []map[string]string{{"stage": "one", "customer": ""}}, upserts)
}
