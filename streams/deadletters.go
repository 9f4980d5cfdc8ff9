package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Dead-letter kinds: the last token of a dead letter's subject.
const (
	DeadInbox    = "inbox"
	DeadActivity = "activity"
)

// DeadLetter is a message taken out of circulation because it could not be
// processed, kept with the reason for an operator to inspect.
type DeadLetter struct {
	Kind string
	// Subject is where the message was originally published.
	Subject    string
	Reason     string
	Error      string
	Deliveries uint64
	Seq        uint64
	Time       time.Time
	Data       []byte
}

// DeadLetter copies a task message into the dead-letter stream with the
// reason and error, then terminates it so it is never delivered again. A
// poison message thus never blocks its queue and is never lost.
func (b *Backend) DeadLetter(ctx context.Context, kind string, m *TaskMessage, reason string, cause error) error {
	if kind != DeadInbox && kind != DeadActivity {
		return fmt.Errorf("streams: unknown dead-letter kind %q", kind)
	}
	msg := &nats.Msg{Subject: b.n.dead(kind), Data: m.Data(), Header: nats.Header{}}
	msg.Header.Set(hdrDeadSubject, m.Subject())
	msg.Header.Set(hdrDeadReason, reason)
	if cause != nil {
		msg.Header.Set(hdrDeadError, truncate(cause.Error(), 1024))
	}
	msg.Header.Set(hdrDeadDeliveries, strconv.FormatUint(m.Deliveries(), 10))
	if _, err := b.publish(ctx, msg); err != nil {
		// Leave the message where it is: it will be redelivered and the
		// dead-lettering tried again, rather than lost.
		return fmt.Errorf("streams: dead-letter message of %s: %w", m.Subject(), err)
	}
	b.log.Warn("dead-lettered a message", "kind", kind, "subject", m.Subject(), "reason", reason, "err", cause)
	if err := m.Term(reason); err != nil {
		return fmt.Errorf("streams: terminate dead-lettered message of %s: %w", m.Subject(), err)
	}
	return nil
}

// DeadLetters reads up to limit dead letters of a kind ("" for all kinds),
// oldest first.
func (b *Backend) DeadLetters(ctx context.Context, kind string, limit int) ([]*DeadLetter, error) {
	filter := b.n.deadAll()
	if kind != "" {
		filter = b.n.dead(kind)
	}
	var out []*DeadLetter
	errEnough := errors.New("enough")
	_, err := b.readSubject(ctx, b.n.deadStream(), filter, 1, withMetadata, func(m *storedMsg) error {
		if limit > 0 && len(out) >= limit {
			return errEnough
		}
		d, _ := strconv.ParseUint(m.Header.Get(hdrDeadDeliveries), 10, 64)
		out = append(out, &DeadLetter{
			Kind:       m.Subject[len(b.n.dead("")):],
			Subject:    m.Header.Get(hdrDeadSubject),
			Reason:     m.Header.Get(hdrDeadReason),
			Error:      m.Header.Get(hdrDeadError),
			Deliveries: d,
			Seq:        m.Seq,
			Time:       m.Time,
			Data:       m.Data,
		})
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
