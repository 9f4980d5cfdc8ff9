package streams

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePubAck(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    *jetstream.PubAck
		wantErr error
		code    jetstream.ErrorCode
	}{
		{name: "plain", data: `{"stream":"WF_a_HISTORY","seq":42}`, want: &jetstream.PubAck{Stream: "WF_a_HISTORY", Sequence: 42}},
		{name: "duplicate as the server writes it", data: `{"stream":"S","seq":7,"duplicate": true}`, want: &jetstream.PubAck{Stream: "S", Sequence: 7, Duplicate: true}},
		{name: "duplicate without the space", data: `{"stream":"S","seq":7,"duplicate":true}`, want: &jetstream.PubAck{Stream: "S", Sequence: 7, Duplicate: true}},
		{name: "with a domain", data: `{"stream":"S","domain":"hub","seq":9}`, want: &jetstream.PubAck{Stream: "S", Domain: "hub", Sequence: 9}},
		{name: "batch fields", data: `{"stream":"S","seq":3,"batch":"b1","count":2}`, want: &jetstream.PubAck{Stream: "S", Sequence: 3}},
		{name: "spaces", data: `{"stream": "S", "seq": 5}`, want: &jetstream.PubAck{Stream: "S", Sequence: 5}},
		{name: "wrong last sequence", data: `{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"},"stream":"S","seq":0}`, code: 10071},
		{name: "no stream", data: `{"seq":5}`, wantErr: jetstream.ErrInvalidJSAck},
		{name: "not JSON", data: `+OK`, wantErr: jetstream.ErrInvalidJSAck},
		{name: "empty", data: ``, wantErr: jetstream.ErrInvalidJSAck},
		{name: "sequence overflow", data: `{"stream":"S","seq":99999999999999999999999}`, wantErr: jetstream.ErrInvalidJSAck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, err := parsePubAck([]byte(tt.data))
			switch {
			case tt.code != 0:
				var apiErr *jetstream.APIError
				require.True(t, errors.As(err, &apiErr), "error %v", err)
				assert.Equal(t, tt.code, apiErr.ErrorCode)
				assert.True(t, isWrongLastSequence(err))
			case tt.wantErr != nil:
				assert.ErrorIs(t, err, tt.wantErr)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, ack)
			}
		})
	}
}

// A publish no stream takes is retried (a stream may be electing a
// leader) until the request timeout, then reported as no stream response,
// which a commit treats as an outcome it must look up.
func TestPublishWithoutAStream(t *testing.T) {
	b := newBackend(t, WithRequestTimeout(300*time.Millisecond))
	_, err := b.publish(testContext(t), &nats.Msg{Subject: "nobody.stores.this", Data: []byte("x")})
	require.ErrorIs(t, err, jetstream.ErrNoStreamResponse)
	assert.True(t, ambiguous(err))
}

// A stream that answers only after a second (as after a leader election
// following a SIGKILL, which takes seconds) still gets the message within
// the request timeout: publish does not give up after the JetStream
// client's two retries 250 ms apart, which handed the commit to the task
// retry's backoff and stretched jetflow's failover pause past NATS's own.
func TestPublishRidesOutAnElection(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	created := make(chan error, 1)
	go func() {
		time.Sleep(time.Second) // the election's pause
		_, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: "LATE", Subjects: []string{"late.>"}})
		created <- err
	}()
	ack, err := b.publish(ctx, &nats.Msg{Subject: "late.x", Data: []byte("x")})
	require.NoError(t, err)
	assert.Equal(t, "LATE", ack.Stream)
	// The stream may take the message before its creator hears back:
	// wait for that answer while the test's context still stands.
	require.NoError(t, <-created)
}
