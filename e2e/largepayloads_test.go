package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// bigSize is 20 MiB, twenty times the server's max payload; 4 MiB under
// the race detector, whose slowdown of the copies in workflow code would
// otherwise count as blocked code (still four times the max payload, so
// every payload goes through the object store all the same).
var bigSize = func() int {
	if raceDetector {
		return 4 << 20
	}
	return 20 << 20
}()

// bigActivity returns its input with its first byte changed.
func bigActivity(_ context.Context, in []byte) ([]byte, error) {
	out := bytes.Clone(in)
	out[0] = 'A'
	return out, nil
}

// bigWorkflow passes its 20 MiB input through an activity, waits for a
// 20 MiB signal and returns the digests of what it saw with the signal.
func bigWorkflow(ctx workflow.Context, in []byte) ([]byte, error) {
	a, err := workflow.ExecuteActivity[[]byte](ctx, workflow.DefaultActivityOptions, bigActivity, in).Get(ctx)
	if err != nil {
		return nil, err
	}
	sig, _ := workflow.NewSignalChannel[[]byte](ctx, "big").Receive(ctx)
	if len(a) != len(in) || a[0] != 'A' || !bytes.Equal(a[1:], in[1:]) {
		return nil, workflow.NewError("Mismatch", "the activity's result is not its input")
	}
	out := bytes.Clone(sig)
	out[0] = 'W'
	return out, nil
}

func TestLargePayloadsGoThroughTheObjectStore(t *testing.T) {
	e := wftest.New(t, wftest.Options{
		ServerOptions: []testenv.ServerOption{func(o *embedded.Options) { o.MaxPayload = 1 << 20 }},
		Prefix:        "big",
		// Every task replays through the references. Copying 20 MiB in
		// workflow code is slow under -race: allow it more than the
		// default blocked-code timeout.
		Worker: &worker.Options{DisableExecutorCache: true, BlockedTimeout: time.Minute},
		Register: func(w *worker.Worker) {
			require.NoError(t, w.RegisterWorkflow(bigWorkflow))
			require.NoError(t, w.RegisterActivity(bigActivity))
		},
	})
	require.EqualValues(t, 1<<20, e.Backend.Conn().MaxPayload())
	ctx := testenv.Context(t, 2*time.Minute)

	in := bytes.Repeat([]byte("0123456789abcdef"), bigSize/16)
	sig := bytes.Repeat([]byte("fedcba9876543210"), bigSize/16)
	inst, err := e.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, bigWorkflow, in)
	require.NoError(t, err)
	testenv.WaitFor(t, time.Minute, "the activity's result in the history", func() bool {
		h, err := e.Client.GetWorkflowHistory(ctx, inst)
		if err != nil {
			return false
		}
		for _, ev := range h.Events {
			if ev.Kind.String() == "ActivityCompleted" {
				return true
			}
		}
		return false
	})
	require.NoError(t, e.Client.SignalWorkflow(ctx, inst.InstanceID, "big", sig))
	res, err := client.GetWorkflowResult[[]byte](ctx, e.Client, inst, time.Minute)
	require.NoError(t, err)
	require.Len(t, res, bigSize)
	assert.Equal(t, byte('W'), res[0])
	assert.Equal(t, sha256.Sum256(sig[1:]), sha256.Sum256(res[1:]))

	// Stored messages hold references, not the bytes.
	h, err := e.Client.GetWorkflowHistory(ctx, inst)
	require.NoError(t, err)
	for _, ev := range h.Events {
		for _, a := range ev.Args {
			assert.Less(t, len(a), 1024, "%s holds a reference", ev.Kind)
		}
		assert.Less(t, len(ev.Result), 1024, "%s holds a reference", ev.Kind)
	}

	objects := func() []string {
		os, err := e.Backend.JetStream().ObjectStore(ctx, "wf_"+e.Backend.Namespace()+"_payloads")
		require.NoError(t, err)
		list, err := os.List(ctx)
		if err != nil {
			require.ErrorIs(t, err, jetstream.ErrNoObjectsFound)
		}
		var names []string
		for _, o := range list {
			names = append(names, o.Name)
		}
		return names
	}
	require.NotEmpty(t, objects())

	// Removing the instance removes its objects; a read through a
	// reference then fails clearly.
	require.NoError(t, e.Client.RemoveWorkflowInstance(ctx, inst))
	assert.Empty(t, objects())
	st, err := e.Backend.JetStream().Stream(ctx, "OBJ_wf_"+e.Backend.Namespace()+"_payloads")
	require.NoError(t, err)
	assert.Zero(t, st.CachedInfo().State.Msgs, "no chunk and no deleted-object marker is left")
	_, err = e.Client.DecodePayload(h.Events[0].Args[0])
	assert.ErrorIs(t, err, streams.ErrPayloadMissing)
}

// orphanParent starts orphanChild with its input as the child's argument,
// abandons it and ends.
func orphanParent(ctx workflow.Context, in []byte) error {
	opts := workflow.SubWorkflowOptions{
		InstanceID:        workflow.GetInfo(ctx).InstanceID + "-child",
		ParentClosePolicy: workflow.ParentCloseAbandon,
	}
	workflow.CreateSubWorkflowInstance[int](ctx, opts, orphanChild, in)
	return nil
}

// orphanChild waits for the signal "go" and returns the size of its input.
func orphanChild(ctx workflow.Context, in []byte) (int, error) {
	workflow.NewSignalChannel[struct{}](ctx, "go").Receive(ctx)
	return len(in), nil
}

// A child's arguments stored in the object store by its parent must
// outlive the parent: removed before the child reads its arguments again,
// the parent must not take them with it.
func TestChildArgumentsOutliveTheirParent(t *testing.T) {
	e := wftest.New(t, wftest.Options{
		Prefix:  "orphan",
		Streams: []streams.Option{streams.WithPayloadThreshold(1 << 10)},
		// Every task replays, reading the child's arguments again.
		Worker: &worker.Options{DisableExecutorCache: true},
		Register: func(w *worker.Worker) {
			require.NoError(t, w.RegisterWorkflow(orphanParent))
			require.NoError(t, w.RegisterWorkflow(orphanChild))
		},
	})
	ctx := testenv.Context(t, time.Minute)
	in := bytes.Repeat([]byte("x"), 64<<10)
	parent, err := e.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, orphanParent, in)
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[struct{}](ctx, e.Client, parent, 30*time.Second)
	require.NoError(t, err)
	child := &workflow.Instance{InstanceID: parent.InstanceID + "-child"}
	testenv.WaitFor(t, 30*time.Second, "the child started", func() bool {
		h, err := e.Client.GetWorkflowHistory(ctx, child)
		return err == nil && len(h.Events) > 0
	})

	require.NoError(t, e.Client.RemoveWorkflowInstance(ctx, parent))
	require.NoError(t, e.Client.SignalWorkflow(ctx, child.InstanceID, "go", struct{}{}))
	n, err := client.GetWorkflowResult[int](ctx, e.Client, child, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, len(in), n)
}

// bigAnswerWorkflow answers the query "big" with n bytes and heartbeats
// an n-byte detail from its activity.
func bigAnswerWorkflow(ctx workflow.Context, n int) error {
	if err := workflow.SetQueryHandler(ctx, "big", func() (string, error) { return strings.Repeat("q", n), nil }); err != nil {
		return err
	}
	_, err := workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, bigHeartbeatActivity, n).Get(ctx)
	if err != nil {
		return err
	}
	return workflow.Sleep(ctx, time.Hour)
}

// bigHeartbeatActivity heartbeats an n-byte detail three times.
func bigHeartbeatActivity(ctx context.Context, n int) error {
	for range 3 {
		activity.RecordHeartbeat(ctx, strings.Repeat("h", n))
		time.Sleep(1200 * time.Millisecond) //jetflowvet:ignore activities may sleep; long enough for the details to be written
	}
	return nil
}

// Query answers and heartbeat details are not moved to the object store:
// one over the server's max payload is a clear error (the query's caller
// gets it at once instead of waiting for its timeout; heartbeat details
// are dropped with a warning, not retried).
func TestAnswersAndDetailsOverTheMaxPayload(t *testing.T) {
	logs := &syncBuffer{}
	e := wftest.New(t, wftest.Options{
		ServerOptions: []testenv.ServerOption{func(o *embedded.Options) { o.MaxPayload = 1 << 20 }},
		Prefix:        "bigq",
		Worker:        &worker.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))},
		Register: func(w *worker.Worker) {
			require.NoError(t, w.RegisterWorkflow(bigAnswerWorkflow))
			require.NoError(t, w.RegisterActivity(bigHeartbeatActivity))
		},
	})
	ctx := testenv.Context(t, time.Minute)
	inst, err := e.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, bigAnswerWorkflow, 2<<20)
	require.NoError(t, err)

	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	testenv.WaitFor(t, 20*time.Second, "the query answered", func() bool {
		_, err = client.QueryWorkflow[string](qctx, e.Client, inst, "big")
		var we *workflow.Error
		return !errors.As(err, &we) || we.Type != workflow.ErrTypeNotStarted
	})
	require.Error(t, err)
	require.NoError(t, qctx.Err(), "the caller got its answer before its timeout: %v", err)
	var we *workflow.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, workflow.ErrTypePayloadTooLarge, we.Type)
	assert.Contains(t, err.Error(), "query answers are not moved to the object store")

	testenv.WaitFor(t, 30*time.Second, "the activity completed", func() bool {
		h, err := e.Client.GetWorkflowHistory(ctx, inst)
		if err != nil {
			return false
		}
		for _, ev := range h.Events {
			if ev.Kind == history.ActivityCompleted {
				return true
			}
		}
		return false
	})
	// One warning per heartbeat's details at most: each is tried once.
	warnings := strings.Count(logs.String(), "heartbeat details are too large to store")
	assert.True(t, warnings >= 1 && warnings <= 3, "%d warnings:\n%s", warnings, logs.String())
	assert.NotContains(t, logs.String(), "storing heartbeat details failed")
}
