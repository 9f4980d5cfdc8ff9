package streams

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A consumer without a leader (an election after its leader's node died)
// is answered "no responders" by the server: fetch asks again until its
// wait ends, so it takes the first task as soon as the consumer is back,
// instead of failing at once and leaving the worker to sleep its retry
// delay. Here the consumer is missing, which the server answers the same
// way, and comes back while the fetch waits.
func TestFetchWaitsOutAConsumerWithoutLeader(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	s, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: "ELECTING", Subjects: []string{"electing.>"}})
	require.NoError(t, err)
	cfg := jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy}
	c, err := s.CreateConsumer(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, s.DeleteConsumer(ctx, "c"))

	type fetched struct {
		n   int
		err error
	}
	done := make(chan fetched, 1)
	go func() {
		msgs, err := fetch(ctx, c, 4, 20*time.Second)
		done <- fetched{len(msgs), err}
	}()
	// Let the fetch meet the missing consumer first (were it to ask only
	// after the consumer is back, the test would prove nothing, but pass).
	time.Sleep(300 * time.Millisecond)
	_, err = s.CreateConsumer(ctx, cfg)
	require.NoError(t, err)
	_, err = b.js.Publish(ctx, "electing.x", []byte("task"))
	require.NoError(t, err)

	f := <-done
	require.NoError(t, f.err)
	assert.Equal(t, 1, f.n)
}
