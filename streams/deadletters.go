package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/nats-io/nats.go"
)

// Dead-letter kinds: the last token of a dead letter's subject.
const (
	DeadInbox    = "inbox"
	DeadActivity = "activity"
	// DeadRetention holds fired retention schedules that cannot be read.
	DeadRetention = "retention"
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
	// Data is the message's body, or its first bytes when the whole did
	// not fit beside the dead letter's headers; OriginalSize is then the
	// size of the whole (0 otherwise).
	Data         []byte
	OriginalSize int
}

// DeadLetter copies a task message into the dead-letter stream with the
// reason and error, then terminates it so it is never delivered again. A
// poison message thus never blocks its queue and is never lost.
func (b *Backend) DeadLetter(ctx context.Context, kind string, m *TaskMessage, reason string, cause error) error {
	if kind != DeadInbox && kind != DeadActivity && kind != DeadRetention {
		return fmt.Errorf("streams: unknown dead-letter kind %q", kind)
	}
	msg := &nats.Msg{Subject: b.n.dead(kind), Data: m.Data(), Header: nats.Header{}}
	msg.Header.Set(hdrDeadSubject, m.Subject())
	msg.Header.Set(hdrDeadReason, reason)
	if cause != nil {
		msg.Header.Set(hdrDeadError, truncate(cause.Error(), 1024))
	}
	msg.Header.Set(hdrDeadDeliveries, strconv.FormatUint(m.Deliveries(), 10))
	// A message near the server's max payload does not fit with these
	// headers: keep what fits of it, and say how big it was.
	if limit := b.maxPayload(); limit > 0 {
		room := int(limit) - len(msg.Subject) - headerSize(msg.Header) - 256
		if len(msg.Data) > room {
			msg.Header.Set(hdrDeadOriginalSize, strconv.Itoa(len(msg.Data)))
			msg.Data = msg.Data[:max(room, 0)]
		}
	}
	if _, err := b.publish(ctx, msg); err != nil {
		// Leave the message where it is: it will be redelivered and the
		// dead-lettering tried again, rather than lost.
		return fmt.Errorf("streams: dead-letter message of %s: %w", m.Subject(), err)
	}
	b.log.Warn("dead-lettered a message", logkey.Kind, kind, logkey.Subject, m.Subject(), "reason", reason, logkey.Err, cause)
	if err := m.Term(reason); err != nil {
		return fmt.Errorf("streams: terminate dead-lettered message of %s: %w", m.Subject(), err)
	}
	return nil
}

// headerSize is about what a header takes on the wire.
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
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
		size, _ := strconv.Atoi(m.Header.Get(hdrDeadOriginalSize))
		out = append(out, &DeadLetter{
			OriginalSize: size,
			Kind:         m.Subject[len(b.n.dead("")):],
			Subject:      m.Header.Get(hdrDeadSubject),
			Reason:       m.Header.Get(hdrDeadReason),
			Error:        m.Header.Get(hdrDeadError),
			Deliveries:   d,
			Seq:          m.Seq,
			Time:         m.Time,
			Data:         m.Data,
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
