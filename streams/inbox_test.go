package streams

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
)

func signal(id string) *history.Event {
	return &history.Event{Kind: history.SignalReceived, Name: "approve", InboxID: id, Time: time.Now().UTC(), Args: [][]byte{[]byte("ann")}}
}

// fetchInbox fetches until n messages arrived or the deadline passes.
func fetchInbox(t testing.TB, q *InboxQueue, n int) []*InboxMessage {
	t.Helper()
	ctx := testContext(t)
	var got []*InboxMessage
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		msgs, err := q.Fetch(ctx, n-len(got), 200*time.Millisecond)
		require.NoError(t, err)
		got = append(got, msgs...)
	}
	require.Len(t, got, n)
	return got
}

// assertInboxEmpty checks that nothing is left for the queue's consumer.
func assertInboxEmpty(t *testing.T, q *InboxQueue) {
	t.Helper()
	msgs, err := q.Fetch(testContext(t), 10, 100*time.Millisecond)
	require.NoError(t, err)
	assert.Empty(t, msgs)
}

func TestInboxPublishFetchAck(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)

	require.NoError(t, b.PublishEvent(ctx, "default", "order 7", signal("sig-1")))
	require.NoError(t, b.PublishEvent(ctx, "default", "order-8", signal("sig-2")))

	msgs := fetchInbox(t, q, 2)
	byInstance := map[string]*InboxMessage{}
	for _, m := range msgs {
		require.NoError(t, m.Err)
		byInstance[m.InstanceID] = m
	}
	require.Contains(t, byInstance, "order 7", "the encoded instance ID decodes back")
	m := byInstance["order 7"]
	assert.Equal(t, history.SignalReceived, m.Event.Kind)
	assert.Equal(t, "sig-1", m.Event.InboxID)
	assert.Equal(t, [][]byte{[]byte("ann")}, m.Event.Args)
	assert.EqualValues(t, 1, m.Deliveries())

	for _, m := range msgs {
		require.NoError(t, m.AckSync(ctx))
	}
	assertInboxEmpty(t, q)
}

func TestInboxDeduplicatesByInboxID(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, b.PublishEvent(ctx, "default", "i", signal("same")))
	}
	require.NoError(t, b.PublishEvent(ctx, "default", "i", signal("other")))
	msgs := fetchInbox(t, q, 2)
	for _, m := range msgs {
		require.NoError(t, m.AckSync(ctx))
	}
	assertInboxEmpty(t, q)
}

func TestInboxNakRedelivers(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)
	require.NoError(t, b.PublishEvent(ctx, "default", "i", signal("s")))
	first := fetchInbox(t, q, 1)[0]
	require.NoError(t, first.Nak())
	again := fetchInbox(t, q, 1)[0]
	assert.Equal(t, first.StreamSeq(), again.StreamSeq())
	assert.EqualValues(t, 2, again.Deliveries())
	require.NoError(t, again.Term("test"))
	assertInboxEmpty(t, q)
}

func TestPublishEventErrors(t *testing.T) {
	b := newBackend(t, WithPayloadThreshold(-1)) // "too large": kept inline
	ctx := testContext(t)
	tests := []struct {
		name, queue, inst string
		event             *history.Event
		contains          string
	}{
		{"empty queue", "", "i", signal("x"), "queue name is empty"},
		{"empty instance", "default", "", signal("x"), "instance ID is empty"},
		{"nil event", "default", "i", nil, "nil event"},
		{"produced kind", "default", "i", &history.Event{Kind: history.TimerScheduled, InboxID: "x"}, "not an inbound event"},
		{"no inbox ID", "default", "i", &history.Event{Kind: history.CancelRequested}, "no InboxID"},
		{"too large", "default", "i", &history.Event{Kind: history.SignalReceived, InboxID: "x", Args: [][]byte{make([]byte, 2<<20)}}, "payload too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.PublishEvent(ctx, tt.queue, tt.inst, tt.event)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.contains)
		})
	}
}

// A message that cannot be decoded is reported with its error, can be
// dead-lettered with the reason, and does not hold up the queue.
func TestInboxPoisonMessageIsDeadLettered(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)

	poison := map[string][]byte{
		"garbage":       []byte("\x01\xc1\xc1"),
		"unknown-kind":  mustEncode(t, map[string]any{"k": 99}),
		"produced-kind": mustEncodeEvent(t, &history.Event{Kind: history.ActivityScheduled}),
	}
	for inst, data := range poison {
		_, err := b.js.Publish(ctx, b.n.inbox("default", inst), data)
		require.NoError(t, err)
	}
	_, err = b.js.Publish(ctx, "wft.default.q.default.=!!", mustEncodeEvent(t, signal("bad-subject")))
	require.NoError(t, err)
	require.NoError(t, b.PublishEvent(ctx, "default", "good", signal("fine")))

	msgs := fetchInbox(t, q, 5)
	var good int
	for _, m := range msgs {
		if m.Err == nil {
			good++
			assert.Equal(t, "good", m.InstanceID)
			require.NoError(t, m.AckSync(ctx))
			continue
		}
		require.NoError(t, b.DeadLetter(ctx, DeadInbox, &m.TaskMessage, "undecodable", m.Err))
	}
	assert.Equal(t, 1, good)
	assertInboxEmpty(t, q)

	dead, err := b.DeadLetters(ctx, DeadInbox, 0)
	require.NoError(t, err)
	require.Len(t, dead, 4)
	reasons := map[string]string{}
	for _, d := range dead {
		assert.Equal(t, DeadInbox, d.Kind)
		assert.Equal(t, "undecodable", d.Reason)
		assert.EqualValues(t, 1, d.Deliveries)
		reasons[d.Subject[strings.LastIndex(d.Subject, ".")+1:]] = d.Error
	}
	assert.Contains(t, reasons["garbage"], "malformed")
	assert.Contains(t, reasons["unknown-kind"], "unknown event kind 99")
	assert.Contains(t, reasons["produced-kind"], "not an inbound event")
	assert.Contains(t, reasons["=!!"], "invalid name")

	limited, err := b.DeadLetters(ctx, "", 2)
	require.NoError(t, err)
	assert.Len(t, limited, 2)
	require.ErrorContains(t, b.DeadLetter(ctx, "nope", &msgs[0].TaskMessage, "", nil), "unknown dead-letter kind")
}

func mustEncodeEvent(t testing.TB, e *history.Event) []byte {
	t.Helper()
	// Bypass EncodeEvent's validation to make messages a buggy or hostile
	// publisher could send.
	return mustEncode(t, e)
}

func mustEncode(t testing.TB, v any) []byte {
	t.Helper()
	data, err := encodeRaw(v)
	require.NoError(t, err)
	return data
}

func BenchmarkInboxRoundTrip(b *testing.B) {
	be := newBackend(b)
	ctx := context.Background()
	q, err := be.InboxQueue(ctx, "default")
	if err != nil {
		b.Fatal(err)
	}
	const batch = 100
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		for i := 0; i < n; i++ {
			if err := be.PublishEvent(ctx, "default", "bench", signal(fmt.Sprint(done+i))); err != nil {
				b.Fatal(err)
			}
		}
		for got := 0; got < n; {
			msgs, err := q.Fetch(ctx, n-got, time.Second)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range msgs {
				if err := m.Ack(); err != nil {
					b.Fatal(err)
				}
			}
			got += len(msgs)
		}
		done += n
	}
}
