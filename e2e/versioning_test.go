package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func Label(ctx context.Context, s string) (string, error) { return s, nil }

// ShippingV1 packs by hand, waits for the go-ahead, ships.
func ShippingV1(ctx workflow.Context) (string, error) {
	packed, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Label, "packed by hand").Get(ctx)
	if err != nil {
		return "", err
	}
	workflow.NewSignalChannel[string](ctx, "go").Receive(ctx)
	shipped, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Label, "shipped").Get(ctx)
	return packed + ", " + shipped, err
}

// ShippingV2 packs by robot, a change guarded by GetVersion so that runs
// which packed by hand before the change replay as they ran.
func ShippingV2(ctx workflow.Context) (string, error) {
	how := "packed by robot"
	if workflow.GetVersion(ctx, "robot-packing", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		how = "packed by hand"
	}
	packed, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Label, how).Get(ctx)
	if err != nil {
		return "", err
	}
	workflow.NewSignalChannel[string](ctx, "go").Receive(ctx)
	shipped, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Label, "shipped").Get(ctx)
	return packed + ", " + shipped, err
}

// ShippingV3 drops the old branch: only runs recorded with version 1 can
// replay on it.
func ShippingV3(ctx workflow.Context) (string, error) {
	workflow.GetVersion(ctx, "robot-packing", 1, 1)
	packed, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Label, "packed by robot").Get(ctx)
	if err != nil {
		return "", err
	}
	workflow.NewSignalChannel[string](ctx, "go").Receive(ctx)
	shipped, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Label, "shipped").Get(ctx)
	return packed + ", " + shipped, err
}

func registerShipping(t *testing.T, version any) func(w *worker.Worker) {
	return func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(version, worker.WithName("Shipping")))
		must(t, w.RegisterActivity(Label))
	}
}

// waitForPacked waits until a Shipping run has packed and waits for "go".
func (e *env) waitForPacked(ctx context.Context, inst string) {
	e.t.Helper()
	waitFor(e.t, 10*time.Second, inst+" to pack", func() bool {
		d, err := e.c.DescribeWorkflowInstance(ctx, inst)
		return err == nil && d.HistoryLength > 0 && d.Pending.Empty()
	})
}

func TestVersionedChangeWhileRunsWait(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, registerShipping(t, ShippingV1))
		ctx := ctxFor(t)
		start := func(id string) *workflow.Instance {
			inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: uniqueID(id)}, "Shipping")
			require.NoError(t, err)
			e.waitForPacked(ctx, inst.InstanceID)
			return inst
		}
		finish := func(inst *workflow.Instance) (string, error) {
			require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "go", "now"))
			return client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		}
		old := start("old")

		// Deploy v2: the old run replays on it, taking the old branch.
		e.cancel()
		e.startWorker(registerShipping(t, ShippingV2))
		res, err := finish(old)
		require.NoError(t, err)
		assert.Equal(t, "packed by hand, shipped", res)

		v2run := start("new")
		res, err = finish(v2run)
		require.NoError(t, err)
		assert.Equal(t, "packed by robot, shipped", res)

		// A run recorded with version 1 replays on v3, which no longer
		// supports the old branch.
		v3run := start("v3")
		e.cancel()
		e.startWorker(registerShipping(t, ShippingV3))
		res, err = finish(v3run)
		require.NoError(t, err)
		assert.Equal(t, "packed by robot, shipped", res)
	})
}

func TestVersionOutsideTheSupportedRange(t *testing.T) {
	// A run that packed by hand under v1 cannot replay on v3: the worker
	// keeps retrying its task (a fixed deploy would heal it) and the
	// replayer names the problem.
	e := newEnv(t, worker.Options{TaskRetryDelay: 50 * time.Millisecond, PollWait: 200 * time.Millisecond}, registerShipping(t, ShippingV1))
	ctx := ctxFor(t)
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, "Shipping")
	require.NoError(t, err)
	e.waitForPacked(ctx, inst.InstanceID)

	r := worker.NewReplayer(nil)
	must(t, r.RegisterWorkflow(ShippingV3, worker.WithName("Shipping")))
	err = r.ReplayInstance(ctx, e.b, inst.InstanceID)
	var nd *engine.NondeterminismError
	require.ErrorAs(t, err, &nd)
	assert.Contains(t, nd.Error(), `change "robot-packing" before it existed`)
	assert.Contains(t, nd.Error(), "supports only versions 1 to 1")
	t.Log(err)
}

func TestReplayStoredHistoryAgainstChangedCode(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, registerShipping(t, ShippingV1))
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, "Shipping")
		require.NoError(t, err)
		e.waitForPacked(ctx, inst.InstanceID)
		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "go", "now"))
		_, err = client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)

		// Save the history as `wfctl history --json` does.
		h, err := e.c.GetWorkflowHistory(ctx, inst)
		require.NoError(t, err)
		data, err := json.Marshal(h)
		require.NoError(t, err)
		file := filepath.Join(t.TempDir(), "shipping.json")
		require.NoError(t, os.WriteFile(file, data, 0o644))

		replayer := func(version any) *worker.Replayer {
			r := worker.NewReplayer(nil)
			must(t, r.RegisterWorkflow(version, worker.WithName("Shipping")))
			return r
		}
		// The code it ran on, and the versioned change, replay it.
		require.NoError(t, replayer(ShippingV1).ReplayFile(file))
		require.NoError(t, replayer(ShippingV2).ReplayFile(file))
		require.NoError(t, replayer(ShippingV2).ReplayInstance(ctx, e.b, inst.InstanceID))

		// An unguarded change does not.
		err = replayer(ShippingUnguarded).ReplayFile(file)
		var nd *engine.NondeterminismError
		require.ErrorAs(t, err, &nd)
		var re *worker.ReplayError
		require.True(t, errors.As(err, &re))
		assert.Equal(t, inst.InstanceID, re.InstanceID)
		assert.Contains(t, err.Error(), "Label")
		t.Log(err)
	})
}

// ShippingUnguarded checks stock before packing, without GetVersion.
func ShippingUnguarded(ctx workflow.Context) (string, error) {
	if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
		return "", err
	}
	return ShippingV1(ctx)
}
