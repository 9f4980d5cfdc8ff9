package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// The secret holds characters JSON escapes, so the scan looks for its
// JSON form too.
const diskSecret = `s3cr3t<&>"4111-1111-1111-1111`

// Card is a struct payload: its field names stay in msgpack's output, so a
// plain store shows them beside the secret.
type Card struct {
	Holder string
	Number string
}

// secretActivity records heartbeat details holding the secret and fails
// its first attempt (so the details are stored for the next one), then
// returns what the first attempt recorded.
func secretActivity(ctx context.Context, c Card) (Card, error) {
	if activity.Attempt(ctx) == 1 {
		activity.RecordHeartbeat(ctx, Card{Holder: "hb", Number: c.Number})
		return Card{}, errors.New("first attempt fails")
	}
	hb, ok := activity.HeartbeatDetails[Card](ctx)
	if !ok {
		return Card{}, errors.New("no heartbeat details from the first attempt")
	}
	return Card{Holder: c.Holder + "+activity", Number: hb.Number}, nil
}

func secretWorkflow(ctx workflow.Context, c Card) (Card, error) {
	opts := workflow.DefaultActivityOptions
	opts.RetryOptions = workflow.RetryOptions{MaxAttempts: 3, FirstRetryInterval: 10 * time.Millisecond}
	a, err := workflow.ExecuteActivity[Card](ctx, opts, secretActivity, c).Get(ctx)
	if err != nil {
		return Card{}, err
	}
	side, err := workflow.SideEffect[string](ctx, func(workflow.Context) string { return a.Number }).Get(ctx)
	if err != nil {
		return Card{}, err
	}
	if err := workflow.SetQueryHandler(ctx, "card", func() (Card, error) { return a, nil }); err != nil {
		return Card{}, err
	}
	sig, _ := workflow.NewSignalChannel[Card](ctx, "card").Receive(ctx)
	return Card{Holder: a.Holder + "+" + sig.Holder, Number: side + "|" + sig.Number}, nil
}

func registerSecret(t *testing.T) func(*worker.Worker) {
	return func(w *worker.Worker) {
		require.NoError(t, w.RegisterWorkflow(secretWorkflow))
		require.NoError(t, w.RegisterActivity(secretActivity))
	}
}

func testKey(id string) codec.Key {
	return codec.Key{ID: id, Secret: bytes.Repeat([]byte(id), 32)[:32]}
}

func aesCodec(t *testing.T, current codec.Key, older ...codec.Key) codec.Codec {
	t.Helper()
	c, err := codec.NewAESGCM(current, older...)
	require.NoError(t, err)
	return c
}

// runSecretWorkflow runs secretWorkflow to its end on a file store with the
// backend options given, then stops the server and reports which files of
// the store hold the secret (plainly or as JSON).
func runSecretWorkflow(t *testing.T, opts ...streams.Option) (found []string) {
	dir := t.TempDir()
	srv := testenv.Server(t, testenv.StoreDir(dir))
	e := wftest.New(t, wftest.Options{Server: srv, Prefix: "disk", Streams: opts, Register: registerSecret(t)})
	ctx := testenv.Context(t, 60*time.Second)

	in := Card{Holder: "ann", Number: diskSecret}
	inst, err := e.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, secretWorkflow, in)
	require.NoError(t, err)
	testenv.WaitFor(t, 30*time.Second, "the activity's result", func() bool {
		v, err := client.QueryWorkflow[Card](ctx, e.Client, inst, "card")
		return err == nil && v.Number == diskSecret
	})
	require.NoError(t, e.Client.SignalWorkflow(ctx, inst.InstanceID, "card", Card{Holder: "bob", Number: diskSecret}))
	res, err := client.GetWorkflowResult[Card](ctx, e.Client, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Card{Holder: "ann+activity+bob", Number: diskSecret + "|" + diskSecret}, res)

	require.NoError(t, e.StopWorker())
	srv.Shutdown() // flushes the store

	asJSON, err := json.Marshal(diskSecret)
	require.NoError(t, err)
	needles := [][]byte{[]byte(diskSecret), asJSON[1 : len(asJSON)-1], []byte("4111-1111-1111-1111")}
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(data, n) {
				found = append(found, path)
				break
			}
		}
		return nil
	}))
	require.Positive(t, files, "the store has files")
	return found
}

func TestCodecKeepsPayloadsOffTheDisk(t *testing.T) {
	t.Run("without a codec the scan finds the secret", func(t *testing.T) {
		assert.NotEmpty(t, runSecretWorkflow(t), "the scan must be able to see a plain payload")
	})
	enc := aesCodec(t, testKey("disk-key"))
	for name, c := range map[string]codec.Codec{
		"aes-gcm":      enc,
		"zstd+aes-gcm": codec.Chain(codec.Zstd(), enc),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Empty(t, runSecretWorkflow(t, streams.WithCodec(c)), "files holding the secret")
		})
	}
}

func waitForSignal(ctx workflow.Context, prefix string) (string, error) {
	s, _ := workflow.NewSignalChannel[string](ctx, "more").Receive(ctx)
	return prefix + s, nil
}

func TestCodecKeyRotation(t *testing.T) {
	srv := testenv.Server(t)
	ns := testenv.UniqueName("rotate")
	keyA, keyB := testKey("A"), testKey("B")
	backend := func(c ...codec.Codec) *streams.Backend {
		opts := []streams.Option{streams.WithNamespace(ns)}
		if len(c) > 0 {
			opts = append(opts, streams.WithCodec(c[0]))
		}
		return testenv.Backend(t, testenv.Conn(t, srv), opts...)
	}
	register := func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(waitForSignal)) }
	ctx := testenv.Context(t, 60*time.Second)

	// Under key A: one run finishes, one waits for a signal.
	bA := backend(aesCodec(t, keyA))
	_, stopA := wftest.StartWorker(t, bA, nil, register)
	cA := client.New(bA)
	done, err := cA.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, waitForSignal, "done:")
	require.NoError(t, err)
	require.NoError(t, cA.SignalWorkflow(ctx, done.InstanceID, "more", "a"))
	res, err := client.GetWorkflowResult[string](ctx, cA, done, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, "done:a", res)
	waiting, err := cA.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, waitForSignal, "waiting:")
	require.NoError(t, err)
	testenv.WaitFor(t, 30*time.Second, "the waiting run's first task", func() bool {
		h, err := cA.GetWorkflowHistory(ctx, waiting)
		return err == nil && len(h.Events) > 0
	})
	require.NoError(t, stopA())

	// Rotate to B, keeping A for decoding: a new worker replays the run
	// started under A, takes a signal made under B, and finishes it.
	bAB := backend(aesCodec(t, keyB, keyA))
	wftest.Worker(t, bAB, &worker.Options{DisableExecutorCache: true}, register)
	cAB := client.New(bAB)
	require.NoError(t, cAB.SignalWorkflow(ctx, waiting.InstanceID, "more", "b"))
	res, err = client.GetWorkflowResult[string](ctx, cAB, waiting, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "waiting:b", res)
	res, err = client.GetWorkflowResult[string](ctx, cAB, done, 0)
	require.NoError(t, err)
	assert.Equal(t, "done:a", res, "a result stored under A decodes after the switch")

	// A backend without A: an error naming A.
	cB := client.New(backend(aesCodec(t, keyB)))
	_, err = client.GetWorkflowResult[string](ctx, cB, done, 0)
	var missing *codec.KeyNotFoundError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, "A", missing.KeyID)
	assert.ErrorContains(t, err, `key "A"`)
	res, err = client.GetWorkflowResult[string](ctx, cB, waiting, 0)
	require.NoError(t, err, "the result made under B decodes without A")
	assert.Equal(t, "waiting:b", res)

	// Displays say which key is missing instead of showing bytes.
	h, err := cB.GetWorkflowHistory(ctx, done)
	require.NoError(t, err)
	shown := cB.DisplayPayload(h.Events[0].Args[0])
	assert.Equal(t, client.UndecodablePayload{Size: len(h.Events[0].Args[0]), Error: `encrypted with key "A"`, EncryptedWithKey: "A"}, shown)

	// A backend with no codec at all says the same.
	cNone := client.New(backend())
	_, err = client.GetWorkflowResult[string](ctx, cNone, done, 0)
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, "A", missing.KeyID)
	assert.ErrorIs(t, err, streams.ErrNoCodec)
	assert.Equal(t, shown, cNone.DisplayPayload(h.Events[0].Args[0]))
}
