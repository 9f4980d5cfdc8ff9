package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/telemetry"
)

// PublishEvent puts one inbound event into an instance's inbox on the given
// queue. e.InboxID names the event and is the message ID JetStream
// deduplicates on, so publishing the same event twice stores it once.
func (b *Backend) PublishEvent(ctx context.Context, queue, instanceID string, e *history.Event) error {
	if e != nil {
		if err := b.FitEvent(ctx, instanceID, e); err != nil {
			return err
		}
	}
	msg, err := b.inboxMsg(queue, instanceID, e)
	if err != nil {
		return err
	}
	if _, err := b.publish(ctx, msg); err != nil {
		return fmt.Errorf("streams: publish %s to inbox of %q: %w", e.Kind, instanceID, err)
	}
	return nil
}

func (b *Backend) inboxMsg(queue, instanceID string, e *history.Event) (*nats.Msg, error) {
	q, err := EncodeQueue(queue)
	if err != nil {
		return nil, err
	}
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errors.New("streams: nil event")
	}
	if !e.Kind.Inbound() {
		return nil, fmt.Errorf("streams: %s is not an inbound event", e.Kind)
	}
	if e.InboxID == "" {
		return nil, fmt.Errorf("streams: %s event has no InboxID", e.Kind)
	}
	data, err := history.EncodeEvent(e)
	if err != nil {
		return nil, err
	}
	subject := b.n.inbox(q, inst)
	if err := b.checkSize(e.Kind.String()+" event", len(data)+len(subject)+len(e.InboxID)+32); err != nil {
		return nil, err
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, e.InboxID)
	telemetry.Headers(e.Trace, msg.Header.Set)
	return msg, nil
}

// InboxMessage is one fetched inbox message. When it could not be decoded,
// Err says why and Event is nil: dead-letter it.
type InboxMessage struct {
	TaskMessage
	// InstanceID is the instance the message is for, from its subject.
	InstanceID string
	Event      *history.Event
	Err        error
}

// InboxQueue reads a queue's workflow tasks through the queue's shared
// durable consumer.
type InboxQueue struct {
	b     *Backend
	queue string
	cons  jetstream.Consumer
}

// InboxQueue binds to the inbox consumer of a queue, creating it if needed.
func (b *Backend) InboxQueue(ctx context.Context, queue string) (*InboxQueue, error) {
	if err := b.EnsureQueue(ctx, queue); err != nil {
		return nil, err
	}
	q, _ := EncodeQueue(queue)
	cons, err := b.tasks.Consumer(ctx, b.n.inboxConsumer(q))
	if err != nil {
		return nil, fmt.Errorf("streams: inbox consumer of queue %q: %w", queue, err)
	}
	return &InboxQueue{b: b, queue: queue, cons: cons}, nil
}

// Fetch pulls up to max inbox messages, waiting at most wait for the first.
func (q *InboxQueue) Fetch(ctx context.Context, max int, wait time.Duration) ([]*InboxMessage, error) {
	msgs, err := fetch(ctx, q.cons, max, wait)
	if err != nil {
		return nil, fmt.Errorf("streams: fetch inbox of queue %q: %w", q.queue, err)
	}
	out := make([]*InboxMessage, len(msgs))
	for i, m := range msgs {
		out[i] = q.b.decodeInbox(m)
	}
	return out, nil
}

func (b *Backend) decodeInbox(m jetstream.Msg) *InboxMessage {
	im := &InboxMessage{TaskMessage: newTaskMessage(m)}
	tok, ok := b.n.inboxInstance(m.Subject())
	if !ok {
		im.Err = fmt.Errorf("streams: %q is not an inbox subject", m.Subject())
		return im
	}
	inst, err := DecodeToken(tok)
	if err != nil {
		im.Err = fmt.Errorf("streams: inbox subject %q: %w", m.Subject(), err)
		return im
	}
	im.InstanceID = inst
	e, err := history.DecodeEvent(m.Data())
	if err != nil {
		im.Err = err
		return im
	}
	if !e.Kind.Inbound() {
		im.Err = fmt.Errorf("streams: %s is not an inbound event", e.Kind)
		return im
	}
	im.Event = e
	return im
}
