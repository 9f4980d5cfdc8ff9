package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TaskMessage is a message fetched from a work queue (the workflow-task
// inbox or an activity queue). It must be settled exactly once with Ack,
// Nak, NakWithDelay, Term or DeadLetter; until then InProgress keeps it from
// being handed to another worker.
type TaskMessage struct {
	msg  jetstream.Msg
	meta *jetstream.MsgMetadata
}

func newTaskMessage(m jetstream.Msg) TaskMessage {
	meta, _ := m.Metadata()
	return TaskMessage{msg: m, meta: meta}
}

// Subject is the subject the message was published on.
func (t *TaskMessage) Subject() string { return t.msg.Subject() }

// Data is the message body.
func (t *TaskMessage) Data() []byte { return t.msg.Data() }

// Deliveries is how many times JetStream has delivered the message,
// counting this delivery (1 the first time).
func (t *TaskMessage) Deliveries() uint64 {
	if t.meta == nil {
		return 1
	}
	return t.meta.NumDelivered
}

// StreamSeq is the message's sequence in its stream.
func (t *TaskMessage) StreamSeq() uint64 {
	if t.meta == nil {
		return 0
	}
	return t.meta.Sequence.Stream
}

// Published is when the stream stored the message.
func (t *TaskMessage) Published() time.Time {
	if t.meta == nil {
		return time.Time{}
	}
	return t.meta.Timestamp
}

// Ack removes the message from the queue: its work is done.
func (t *TaskMessage) Ack() error { return t.msg.Ack() }

// AckSync removes the message and waits for the server to confirm.
func (t *TaskMessage) AckSync(ctx context.Context) error { return t.msg.DoubleAck(ctx) }

// Nak hands the message back for redelivery now.
func (t *TaskMessage) Nak() error { return t.msg.Nak() }

// NakWithDelay hands the message back for redelivery after d.
func (t *TaskMessage) NakWithDelay(d time.Duration) error { return t.msg.NakWithDelay(d) }

// InProgress resets the message's ack timer, keeping its lease.
func (t *TaskMessage) InProgress() error { return t.msg.InProgress() }

// Term drops the message for good without redelivery.
func (t *TaskMessage) Term(reason string) error {
	if reason == "" {
		return t.msg.Term()
	}
	return t.msg.TermWithReason(reason)
}

// fetch pulls up to max messages from a consumer, waiting at most wait for
// the first, and returns as soon as it has some. It takes what is there at
// once; only when that is nothing does it wait, for a single message, then
// takes what else has arrived. Nothing is prefetched: every message returned
// is handed straight to the caller, so none ages in a buffer while its ack
// timer runs.
//
// While the consumer has no leader (an election after its leader was
// lost), the server answers "no responders" at once: fetch asks again
// every noStreamRetryWait until wait ends, so a worker takes its tasks
// from the new leader within that of its election, rather than a retry
// delay of the caller's later. It then returns that error.
func fetch(ctx context.Context, c jetstream.Consumer, max int, wait time.Duration) ([]jetstream.Msg, error) {
	if max <= 0 {
		return nil, fmt.Errorf("streams: fetch of %d messages", max)
	}
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	deadline := time.Now().Add(wait)
	out, err := collect(c.FetchNoWait(max))
	for errors.Is(err, nats.ErrNoResponders) && time.Now().Add(noStreamRetryWait).Before(deadline) {
		if !sleepCtx(ctx, noStreamRetryWait) {
			return nil, ctx.Err()
		}
		out, err = collect(c.FetchNoWait(max))
	}
	if err != nil || len(out) > 0 {
		return out, err
	}
	wait = time.Until(deadline)
	if wait < time.Millisecond {
		return nil, ctx.Err()
	}
	out, err = waitForOne(ctx, c, wait)
	if err != nil || len(out) == 0 || max == 1 {
		if err == nil && len(out) == 0 {
			err = ctx.Err()
		}
		return out, err
	}
	more, err := collect(c.FetchNoWait(max - 1))
	return append(out, more...), err
}

// waitForOne waits up to wait for one message, and returns at once when
// ctx ends, so a stopping worker does not sit out its poll wait. A message
// that arrives after that is handed straight back (Nak) for another
// worker.
func waitForOne(ctx context.Context, c jetstream.Consumer, wait time.Duration) ([]jetstream.Msg, error) {
	type fetched struct {
		msgs []jetstream.Msg
		err  error
	}
	done := make(chan fetched, 1)
	go func() {
		msgs, err := collect(c.Fetch(1, jetstream.FetchMaxWait(wait)))
		done <- fetched{msgs, err}
	}()
	select {
	case f := <-done:
		return f.msgs, f.err
	case <-ctx.Done():
		go func() {
			for _, m := range (<-done).msgs {
				_ = m.Nak()
			}
		}()
		return nil, ctx.Err()
	}
}

// collect drains a fetch's batch. An error after some messages is dropped:
// the messages are delivered and must reach the caller.
func collect(batch jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
	if err != nil {
		return nil, err
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	if err := batch.Error(); err != nil && len(out) == 0 && !errors.Is(err, jetstream.ErrNoMessages) {
		return nil, err
	}
	return out, nil
}
