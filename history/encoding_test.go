package history

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

func sampleCommit() *Commit {
	at := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	return &Commit{Events: []Event{
		{Kind: WorkflowStarted, ID: 1, Time: at, InboxID: "start:1", Name: "Order", Queue: "default",
			Args: [][]byte{{0xa1, 'x'}}, Parent: &Parent{InstanceID: "p", ExecutionID: "r", ScheduleID: 3}},
		{Kind: ActivityScheduled, ID: 2, Time: at, Name: "Charge", Queue: "billing", Args: [][]byte{{1}, {2}},
			Activity: &ActivityOptions{MaxAttempts: 3, FirstRetryInterval: time.Second, BackoffCoefficient: 2, StartToClose: time.Minute}},
		{Kind: TimerScheduled, ID: 3, Time: at, FireAt: at.Add(time.Hour)},
		{Kind: VersionMarker, ID: 4, Time: at, Name: "change-1", Version: 2},
		{Kind: WorkflowFailed, ID: 5, Time: at, Failure: &Failure{Type: "PanicError", Message: "boom", Stack: "main.go:1", NonRetryable: true}},
	}}
}

func TestCommitRoundTrip(t *testing.T) {
	c := sampleCommit()
	data, err := EncodeCommit(c)
	require.NoError(t, err)
	assert.Equal(t, CurrentFormat, data[0], "the first byte names the format")
	got, err := DecodeCommit(data)
	require.NoError(t, err)
	assert.Equal(t, c.Events, got.Events)
}

func TestEventRoundTrip(t *testing.T) {
	e := &Event{Kind: SignalReceived, Time: time.Unix(5, 6).UTC(), InboxID: "sig", Name: "approve", Args: [][]byte{[]byte("ann")}}
	data, err := EncodeEvent(e)
	require.NoError(t, err)
	got, err := DecodeEvent(data)
	require.NoError(t, err)
	assert.Equal(t, e, got)
}

// The format is part of the stored history: this test pins the bytes of an
// event so an accidental change of tags or kinds numbers is caught.
func TestFormatIsStable(t *testing.T) {
	e := &Event{Kind: TimerFired, ID: 7, ScheduleID: 3, Time: time.Unix(0, 0).UTC()}
	data, err := EncodeEvent(e)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, msgpack.Unmarshal(data[1:], &fields))
	assert.EqualValues(t, 4, fields["k"], "TimerFired is kind 4")
	assert.EqualValues(t, 7, fields["i"])
	assert.EqualValues(t, 3, fields["s"])
	assert.Contains(t, fields, "t")
	assert.Len(t, fields, 4, "empty fields are omitted: %v", fields)
}

// A history written by a later version with fields this one does not know
// still reads: unknown fields are skipped.
func TestDecodeIgnoresUnknownFields(t *testing.T) {
	body, err := msgpack.Marshal(map[string]any{"e": []map[string]any{{"k": 4, "s": 2, "future_field": "x"}}})
	require.NoError(t, err)
	c, err := DecodeCommit(append([]byte{FormatMsgpack1}, body...))
	require.NoError(t, err)
	require.Len(t, c.Events, 1)
	assert.Equal(t, TimerFired, c.Events[0].Kind)
	assert.EqualValues(t, 2, c.Events[0].ScheduleID)
}

func TestDecodeErrors(t *testing.T) {
	unknownKind, _ := msgpack.Marshal(map[string]any{"e": []map[string]any{{"k": 250}}})
	tests := []struct {
		name     string
		data     []byte
		contains string
	}{
		{"empty", nil, "empty commit"},
		{"unknown format", []byte{42, 0x80}, "unknown format 42"},
		{"not msgpack", []byte{1, 0xc1}, "malformed"},
		{"unknown kind", append([]byte{1}, unknownKind...), "unknown event kind 250"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeCommit(tt.data)
			require.ErrorIs(t, err, ErrMalformed)
			assert.Contains(t, err.Error(), tt.contains)
		})
	}
	_, err := DecodeEvent([]byte{1, 0x80}) // an event with no kind
	require.ErrorIs(t, err, ErrMalformed)
	_, err = EncodeEvent(&Event{})
	require.ErrorContains(t, err, "unknown event kind 0")
	_, err = EncodeCommit(&Commit{Events: []Event{{Kind: 99}}})
	require.ErrorContains(t, err, "commit event 0")
}

func TestKindNames(t *testing.T) {
	for k := range kindNames {
		text, err := k.MarshalText()
		require.NoError(t, err)
		var back Kind
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, k, back)
		assert.NotEqual(t, k.Inbound(), k >= ActivityScheduled, "%s is inbound or produced, not both", k)
	}
	assert.Equal(t, "Kind(99)", Kind(99).String())
	for _, bad := range []string{"Nope", "Kind(300)", "Kind(07)", "Kind(7)x", ""} {
		assert.Error(t, new(Kind).UnmarshalText([]byte(bad)), bad)
	}

	// A kind from a newer version survives a JSON round trip.
	text, err := Kind(99).MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "Kind(99)", string(text))
	var back Kind
	require.NoError(t, back.UnmarshalText(text))
	assert.Equal(t, Kind(99), back)
	assert.True(t, WorkflowContinuedAsNew.Final())
	assert.False(t, TimerFired.Final())
}

func TestJSONIsReadable(t *testing.T) {
	data, err := json.Marshal(sampleCommit().Events[3])
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"VersionMarker","id":4,"time":"2026-11-22T12:00:00.123456789Z","name":"change-1","version":2}`, string(data))
	var back Event
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, sampleCommit().Events[3], back)
}

// FuzzDecodeCommit feeds arbitrary bytes to the decoder: it must return a
// commit or an error, never panic.
func FuzzDecodeCommit(f *testing.F) {
	good, _ := EncodeCommit(sampleCommit())
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 0x80})
	f.Add([]byte{1, 0x81, 0xa1, 'e', 0x91, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommit(data)
		if err == nil {
			for _, e := range c.Events {
				if !e.Kind.Valid() {
					t.Fatalf("decoded an event of unknown kind %d", e.Kind)
				}
			}
		}
	})
}
