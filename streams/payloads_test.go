package streams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
)

// rawConverter passes []byte values through as they are: a custom
// converter whose output may start with any byte.
type rawConverter struct{}

func (rawConverter) Encode(v any) ([]byte, error) { return bytes.Clone(v.([]byte)), nil }
func (rawConverter) Decode(data []byte, v any) error {
	*(v.(*[]byte)) = bytes.Clone(data)
	return nil
}

func TestPayloadConverter(t *testing.T) {
	enc, err := codec.NewAESGCM(codec.Key{ID: "k1", Secret: make([]byte, 16)})
	require.NoError(t, err)
	withCodec := newPayloadConverter(nil, codec.Chain(codec.Zstd(), enc))
	plain := newPayloadConverter(nil, nil)

	t.Run("no codec leaves payloads as they were", func(t *testing.T) {
		b, err := plain.Encode("hello")
		require.NoError(t, err)
		want, _ := converter.Default.Encode("hello")
		assert.Equal(t, want, b)
	})
	t.Run("a codec payload is marked and round-trips", func(t *testing.T) {
		b, err := withCodec.Encode("hello")
		require.NoError(t, err)
		assert.Equal(t, []byte{payloadMarker, wrapCodec}, b[:2])
		var s string
		require.NoError(t, withCodec.Decode(b, &s))
		assert.Equal(t, "hello", s)
	})
	t.Run("a payload stored before the codec decodes with it", func(t *testing.T) {
		old, _ := converter.Default.Encode(map[string]int{"a": 1})
		var m map[string]int
		require.NoError(t, withCodec.Decode(old, &m))
		assert.Equal(t, map[string]int{"a": 1}, m)
	})
	t.Run("without the codec the key is named", func(t *testing.T) {
		b, err := withCodec.Encode("hello")
		require.NoError(t, err)
		var s string
		err = plain.Decode(b, &s)
		assert.ErrorIs(t, err, ErrNoCodec)
		var knf *codec.KeyNotFoundError
		require.ErrorAs(t, err, &knf)
		assert.Equal(t, "k1", knf.KeyID)
	})
	t.Run("a custom converter's bytes that start with the marker", func(t *testing.T) {
		pc := newPayloadConverter(rawConverter{}, nil)
		for _, in := range [][]byte{{payloadMarker}, {payloadMarker, wrapCodec, 1, 2}, {payloadMarker, 9}, {}, {1}} {
			b, err := pc.Encode(in)
			require.NoError(t, err)
			var out []byte
			require.NoError(t, pc.Decode(b, &out))
			assert.Equal(t, in, out)
		}
	})
	t.Run("an unknown wrapping is an error", func(t *testing.T) {
		var s string
		err := plain.Decode([]byte{payloadMarker, 0x7f, 1}, &s)
		assert.ErrorContains(t, err, "unknown wrapping 127")
	})
	t.Run("a codec error is wrapped", func(t *testing.T) {
		bad := newPayloadConverter(nil, failingCodec{})
		_, err := bad.Encode("x")
		assert.ErrorContains(t, err, "streams: encode payload: boom")
	})
}

type failingCodec struct{}

func (failingCodec) Encode(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") }
func (failingCodec) Decode(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") }

func TestLargePayloadsMoveOutOfMessages(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	big := bytes.Repeat([]byte{7}, 3<<20)
	small := []byte{1, 2, 3}
	c := &history.Commit{Events: []history.Event{
		{Kind: history.WorkflowStarted, Name: "W", Args: [][]byte{small, big}},
		{Kind: history.WorkflowCompleted, ID: 2, Result: bytes.Clone(big)},
	}}
	_, err := b.Commit(ctx, "big-1", "run-1", 0, c)
	require.NoError(t, err)
	h, err := b.ReadHistory(ctx, "big-1", "run-1")
	require.NoError(t, err)
	ev := h.Commits[0].Events
	assert.Equal(t, small, ev[0].Args[0], "a small payload stays inline")
	assert.True(t, isRef(ev[0].Args[1]))
	assert.Equal(t, ev[0].Args[1], ev[1].Result, "the same payload of one run is one object")
	var back []byte
	require.NoError(t, msgpackRaw(b, ev[1].Result, &back))
	assert.Equal(t, big, back)

	require.NoError(t, b.DeleteHistory(ctx, "big-1"))
	_, err = b.Converter().(*PayloadConverter).Plain(ev[1].Result)
	assert.ErrorIs(t, err, ErrPayloadMissing, "a missing object is an error, not a hang")
	objects, err := b.js.Stream(ctx, "OBJ_"+b.n.payloadsBucket())
	require.NoError(t, err)
	assert.Zero(t, objects.CachedInfo().State.Msgs, "no chunk and no deleted-object marker is left")
}

// msgpackRaw reads a payload through the backend's converter as raw bytes.
func msgpackRaw(b *Backend, p []byte, out *[]byte) error {
	plain, err := b.Converter().(*PayloadConverter).Plain(p)
	*out = plain
	return err
}

// Errors that are the reader's fault or the store's match
// ErrPayloadUnavailable, so a worker retries the task; malformed payloads
// do not, so they still fail as bad input.
func TestPayloadUnavailable(t *testing.T) {
	keyA, err := codec.NewAESGCM(codec.Key{ID: "A", Secret: bytes.Repeat([]byte{1}, 16)})
	require.NoError(t, err)
	keyB, err := codec.NewAESGCM(codec.Key{ID: "B", Secret: bytes.Repeat([]byte{2}, 16)})
	require.NoError(t, err)
	underA, err := newPayloadConverter(nil, keyA).Encode("hello")
	require.NoError(t, err)
	tampered := bytes.Clone(underA)
	tampered[len(tampered)-1] ^= 0xff
	ref := func(name string) []byte {
		body, err := msgpack.Marshal(payloadRef{Name: name, Size: 1})
		require.NoError(t, err)
		return append([]byte{payloadMarker, wrapRef}, body...)
	}
	withStore := func(fetch func(string) ([]byte, error)) *PayloadConverter {
		p := newPayloadConverter(nil, keyA)
		p.fetch = fetch
		return p
	}
	missing := withStore(func(name string) ([]byte, error) {
		return nil, fmt.Errorf("%w: object %q", ErrPayloadMissing, name)
	})
	timeout := withStore(func(string) ([]byte, error) {
		return nil, fmt.Errorf("streams: read stored payload: %w", context.DeadlineExceeded)
	})
	storedUnderA := newPayloadConverter(nil, keyB)
	storedUnderA.fetch = func(string) ([]byte, error) { return underA, nil }

	for _, tc := range []struct {
		name        string
		conv        *PayloadConverter
		payload     []byte
		unavailable bool
		keyID       string
	}{
		{"a key the codec lacks", newPayloadConverter(nil, keyB), underA, true, "A"},
		{"no codec", newPayloadConverter(nil, nil), underA, true, "A"},
		{"an object missing", missing, ref("i/r/x"), true, ""},
		{"an object store timeout", timeout, ref("i/r/x"), true, ""},
		{"a stored object under a key the codec lacks", storedUnderA, ref("i/r/x"), true, "A"},
		{"no object store", newPayloadConverter(nil, keyA), ref("i/r/x"), true, ""},
		{"a tampered ciphertext", newPayloadConverter(nil, keyA), tampered, false, ""},
		{"a malformed reference", missing, []byte{payloadMarker, wrapRef, 0xc1}, false, ""},
		{"an unknown wrapping", newPayloadConverter(nil, keyA), []byte{payloadMarker, 9, 1}, false, ""},
		{"not a string", newPayloadConverter(nil, keyA), []byte{0x01}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s string
			err := tc.conv.Decode(tc.payload, &s)
			require.Error(t, err)
			assert.Equal(t, tc.unavailable, errors.Is(err, ErrPayloadUnavailable), "errors.Is(%v, ErrPayloadUnavailable)", err)
			if tc.keyID != "" {
				var knf *codec.KeyNotFoundError
				require.ErrorAs(t, err, &knf)
				assert.Equal(t, tc.keyID, knf.KeyID)
			}
		})
	}
}

// A removal skips the payload bucket lookup when a recent lookup found no
// bucket after the entry's revision, and still deletes the payloads of an
// instance whose entry is newer than a bucket another process created.
func TestRemovalLooksUpPayloadsOnlyWhenItMust(t *testing.T) {
	srv := startServer(t)
	b, err := New(connect(t, srv))
	require.NoError(t, err)
	other, err := New(connect(t, srv))
	require.NoError(t, err)
	ctx := testContext(t)
	finished := func(be *Backend, id string, result []byte) *InstanceRecord {
		t.Helper()
		rec := record(id, StatusRunning, time.Now())
		_, err := be.CreateInstance(ctx, rec)
		require.NoError(t, err)
		_, err = be.Commit(ctx, id, rec.ExecutionID, 0, &history.Commit{Events: []history.Event{
			{Kind: history.WorkflowStarted, Name: "W"},
			{Kind: history.WorkflowCompleted, ID: 2, Result: result},
		}})
		require.NoError(t, err)
		rec, err = be.GetInstance(ctx, id)
		require.NoError(t, err)
		rec.Status = StatusCompleted
		rec.Revision, err = be.UpdateInstance(ctx, rec, rec.Revision)
		require.NoError(t, err)
		return rec
	}

	plain := finished(b, "plain-1", []byte{1})
	require.NoError(t, b.RemoveInstance(ctx, plain, nil))
	assert.True(t, b.payloadsAbsentAt(ctx, plain.Revision), "the removal's lookup answers for its entry")

	big := finished(other, "big-1", bytes.Repeat([]byte{7}, 3<<20))
	objects, err := b.js.Stream(ctx, "OBJ_"+b.n.payloadsBucket())
	require.NoError(t, err)
	require.NotZero(t, objects.CachedInfo().State.Msgs)
	assert.False(t, b.payloadsAbsentAt(ctx, big.Revision), "the bucket came after the lookup")
	require.NoError(t, b.RemoveInstance(ctx, big, nil))
	info, err := objects.Info(ctx)
	require.NoError(t, err)
	assert.Zero(t, info.State.Msgs, "the payload of the newer entry is deleted")
}
