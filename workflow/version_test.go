package workflow_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func OldStep(ctx context.Context) (string, error) { return "old", nil }
func NewStep(ctx context.Context) (string, error) { return "new", nil }

// shipV1 is the code before the change.
func shipV1(ctx workflow.Context) (string, error) {
	workflow.Sleep(ctx, 1)
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, OldStep).Get(ctx)
}

// shipV2 replaced OldStep by NewStep behind GetVersion.
func shipV2(ctx workflow.Context) (string, error) {
	workflow.Sleep(ctx, 1)
	v := workflow.GetVersion(ctx, "new-step", workflow.DefaultVersion, 1)
	again := workflow.GetVersion(ctx, "new-step", workflow.DefaultVersion, 1) // cached: no second marker
	if v != again {
		return "", errors.New("GetVersion changed its mind")
	}
	if v == workflow.DefaultVersion {
		return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, OldStep).Get(ctx)
	}
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, NewStep).Get(ctx)
}

// shipV3 dropped support for runs that took the old path.
func shipV3(ctx workflow.Context) (string, error) {
	workflow.Sleep(ctx, 1)
	workflow.GetVersion(ctx, "new-step", 1, 1)
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, NewStep).Get(ctx)
}

func TestGetVersion(t *testing.T) {
	t.Run("a new run records the newest version", func(t *testing.T) {
		r := enginetest.New(t, engine.Options{}, engine.Workflows{"ship": shipV2})
		timer := r.Do(r.Started("ship"))[1]
		out := r.Do(r.TimerFired(timer.ID))
		require.Equal(t, []history.Kind{history.TimerFired, history.VersionMarker, history.ActivityScheduled}, enginetest.Kinds(out))
		assert.Equal(t, "new-step", out[1].Name)
		assert.Equal(t, 1, out[1].Version)
		assert.Equal(t, "NewStep", out[2].Name)
		r.ReplayCheck()
		// v3 replays it fine: the recorded version is supported.
		require.NoError(t, r.ReplayWith(engine.Workflows{"ship": shipV3}))
	})

	t.Run("a run that passed the change before it existed keeps the old path", func(t *testing.T) {
		r := enginetest.New(t, engine.Options{}, engine.Workflows{"ship": shipV1})
		timer := r.Do(r.Started("ship"))[1]
		act := r.Do(r.TimerFired(timer.ID))[1]
		// The worker now runs v2: the history replays on the old path.
		r.Ex.Close()
		r.Opts.Registry = engine.Workflows{"ship": shipV2}
		r.Ex = r.NewExecutor()
		require.NoError(t, r.Ex.Replay(r.History()))
		r.Do(r.ActivityCompleted(act.ID, "old"))
		assert.Equal(t, "old", enginetest.Result[string](r))
		r.ReplayCheck()
		// v3 no longer supports it.
		err := r.ReplayWith(engine.Workflows{"ship": shipV3})
		var nd *engine.NondeterminismError
		require.ErrorAs(t, err, &nd)
		assert.Equal(t, `workflow "ship" is not deterministic: at event 4 the history has ActivityScheduled "OldStep" `+
			`but the workflow code issued VersionMarker "new-step" (the run passed change "new-step" before it existed (version -1), `+
			`but the code supports only versions 1 to 1)`,
			err.Error())
	})
}
