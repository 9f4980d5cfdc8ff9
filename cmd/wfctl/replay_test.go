package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	replaypkg "github.com/jetflow/jetflow/cmd/wfctl/testdata/replaypkg/v1"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

const (
	replayV1 = "./testdata/replaypkg/v1" // the code that wrote the histories
	replayV2 = "./testdata/replaypkg/v2" // package main, activities swapped
)

// replay runs "wfctl replay" (which builds and runs a test: slow).
func (e *env) replay(args ...string) result {
	e.t.Helper()
	return runWfctl(e.t, replayTimeout, append([]string{"--server", natsURL, "--namespace", e.ns, "replay", "--go", goBin}, args...)...)
}

func TestReplay(t *testing.T) {
	e := newEnv(t, func(w *worker.Worker) {
		require.NoError(t, w.RegisterWorkflow(replaypkg.Order))
		require.NoError(t, w.RegisterWorkflow(replaypkg.Order, worker.WithName("LegacyOrder")))
		require.NoError(t, w.RegisterActivity(replaypkg.Reserve))
		require.NoError(t, w.RegisterActivity(replaypkg.Charge))
	})
	ctx := e.ctx()
	for _, id := range []string{"o1", "o2"} {
		_, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, replaypkg.Order, id)
		require.NoError(t, err)
	}
	_, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "legacy"}, "LegacyOrder", "l")
	require.NoError(t, err)
	for _, id := range []string{"o1", "o2", "legacy"} {
		_, err := client.GetWorkflowResult[string](ctx, e.c, &workflow.Instance{InstanceID: id}, waitTimeout)
		require.NoError(t, err)
	}

	// A file with two runs, as 'wfctl history --json' writes them.
	dir := t.TempDir()
	var runs []json.RawMessage
	for _, id := range []string{"o1", "o2"} {
		r := e.mustWfctl("history", id, "--json")
		runs = append(runs, json.RawMessage(r.stdout))
	}
	data, err := json.Marshal(runs)
	require.NoError(t, err)
	both := filepath.Join(dir, "both.json")
	require.NoError(t, os.WriteFile(both, data, 0o600))

	t.Run("same code", func(t *testing.T) {
		before := dirEntries(t, replayV1)
		r := e.replay("--pkg", replayV1, "--file", both)
		require.Equal(t, 0, r.code, r)
		assert.Contains(t, r.stdout, "OK    instance o1, run ")
		assert.Contains(t, r.stdout, "replayed 2 runs: OK")
		assert.Equal(t, before, dirEntries(t, replayV1), "nothing is written into the package")
	})

	t.Run("changed code", func(t *testing.T) {
		r := e.replay("--pkg", replayV2, "--file", both)
		require.Equal(t, exitError, r.code, r)
		assert.Contains(t, r.stdout, "FAIL  instance o1, run ")
		assert.Contains(t, r.stdout, `workflow "Order" is not deterministic`)
		assert.Contains(t, r.stdout, "Reserve")
		assert.Contains(t, r.stdout, "Charge")
		assert.Contains(t, r.stderr, "replayed 2 runs: 2 failed")

		r = e.replay("--pkg", replayV2, "--file", both, "--json")
		require.Equal(t, exitError, r.code, r)
		var out replayOutput
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r)
		assert.False(t, out.OK)
		require.Len(t, out.Runs, 2)
		for _, run := range out.Runs {
			assert.True(t, run.Nondeterministic, run.Error)
			assert.Equal(t, "Order", run.Workflow)
		}
	})

	t.Run("instance from NATS", func(t *testing.T) {
		r := e.replay("--pkg", replayV1, "o1")
		require.Equal(t, 0, r.code, r)
		assert.Contains(t, r.stdout, "replayed 1 run: OK")
	})

	t.Run("registered under another name", func(t *testing.T) {
		r := e.replay("--pkg", replayV1, "legacy")
		require.Equal(t, exitError, r.code, r)
		assert.Contains(t, r.stdout, "use --name LegacyOrder=Func")

		r = e.replay("--pkg", replayV1, "--name", "LegacyOrder=Order", "legacy")
		require.Equal(t, 0, r.code, r)
		assert.Contains(t, r.stdout, "replayed 1 run: OK")

		r = e.replay("--pkg", replayV1, "--name", "LegacyOrder=Missing", "legacy")
		assert.Equal(t, exitUsage, r.code, r)
		assert.Contains(t, r.stderr, "no top-level function Missing")

		// Describe takes a workflow.Context but is no workflow.
		r = e.replay("--pkg", replayV1, "--name", "LegacyOrder=Describe", "legacy")
		assert.Equal(t, exitError, r.code, r)
		assert.Contains(t, r.stderr, "--name LegacyOrder=Describe")
		assert.Contains(t, r.stderr, "not a workflow function")
	})

	t.Run("package without workflows", func(t *testing.T) {
		r := e.replay("--pkg", "github.com/jetflow/jetflow/activity", "--file", both)
		assert.Equal(t, exitError, r.code, r)
		assert.Contains(t, r.stderr, "has no exported workflow functions")

		r = e.replay("--pkg", "./testdata/no-such-package", "--file", both)
		assert.Equal(t, exitError, r.code, r)
		assert.Contains(t, r.stderr, "go list ./testdata/no-such-package")
	})
}

// dirEntries lists the names in a folder.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}
