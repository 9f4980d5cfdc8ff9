package main

import (
	"testing"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndexRebuild(t *testing.T) {
	e := newEnv(t)
	e.mustWfctl("start", "Greet", "--id", "g", "--input", `"x"`)
	ctx := e.ctx()
	_, err := client.GetWorkflowResult[string](ctx, e.c, &workflow.Instance{InstanceID: "g"}, waitTimeout)
	require.NoError(t, err)
	// The index is written behind the registry: wait for the finished
	// instance's row before asking the rebuild to find nothing to do.
	waitFor(t, "g's index row to say completed", func() bool {
		p, err := e.c.ListWorkflowInstances(ctx, client.ListOptions{Status: streams.StatusCompleted})
		return err == nil && len(p.Instances) == 1 && p.Instances[0].InstanceID == "g"
	})
	r := e.mustWfctl("index", "rebuild")
	assert.Contains(t, r.stdout, "index rebuilt: 0 rows written, 0 removed", "a finished instance has its row")

	r = e.wfctl("index", "mend")
	assert.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, `unknown action "mend"`)
}
