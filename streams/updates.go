package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/history"
)

// MaxUpdateIDLength is the longest update ID, in bytes.
const MaxUpdateIDLength = 255

// CheckUpdateID validates an update ID: the rules of instance IDs (it
// names the update's notice subject), and no control characters (it is
// part of a message ID header).
func CheckUpdateID(id string) error {
	if err := checkName("update ID", id, MaxUpdateIDLength); err != nil {
		return err
	}
	if i := strings.IndexFunc(id, unicode.IsControl); i >= 0 {
		return fmt.Errorf("%w: update ID %q has a control character at byte %d", ErrInvalidName, id, i)
	}
	return nil
}

// UpdateInboxID is the InboxID of an UpdateRequested event: the update's
// ID and a nonce of the call that sends it. A call's own retries of an
// unclear publish keep the nonce (the server stores the request once);
// a later call for the same update sends a new request, which the run
// answers from what it recorded (it applies an update ID once), so a
// caller that lost its answer gets it again even when nothing was recorded
// (a rejection).
func UpdateInboxID(updateID, nonce string) string { return "upd:" + nonce + ":" + updateID }

// UpdateNotice answers an update's callers on core NATS
// (`wfu.<ns>.<inst>.<update>`). It is a hint, as a result notice is: a
// completed update's outcome is in the run's history (UpdateCompleted), a
// finished run in the registry, so a caller that missed the notice finds
// the answer there. Only a rejection lives in the notice alone, and a
// caller that missed it asks again.
type UpdateNotice struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id"`
	UpdateID    string `json:"update_id"`
	// Rejected is the reason a validator (or the lack of a handler) gave.
	Rejected string `json:"rejected,omitempty"`
	// Finished says the run ended before the update completed.
	Finished bool `json:"finished,omitempty"`
	// Completed says Result or Failure are the handler's outcome.
	Completed bool             `json:"completed,omitempty"`
	Result    []byte           `json:"result,omitempty"`
	Failure   *history.Failure `json:"failure,omitempty"`
}

func (b *Backend) updateSubject(instanceID, updateID string) (string, error) {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return "", err
	}
	if err := CheckUpdateID(updateID); err != nil {
		return "", err
	}
	return b.n.update(inst, encodeToken(updateID)), nil
}

// PublishUpdateNotice answers an update's callers. Nobody listening is no
// error.
func (b *Backend) PublishUpdateNotice(n UpdateNotice) error {
	subject, err := b.updateSubject(n.InstanceID, n.UpdateID)
	if err != nil {
		return err
	}
	data, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("streams: encode update notice: %w", err)
	}
	if err := b.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("streams: publish the answer to update %q of %q: %w", n.UpdateID, n.InstanceID, err)
	}
	return nil
}

// UpdateWatch receives the notices of one update.
type UpdateWatch struct {
	sub *nats.Subscription
	c   chan *nats.Msg
}

// WatchUpdate subscribes to an update's notices. Subscribe before sending
// the request (on the same connection, which keeps the order), so the
// answer cannot overtake the subscription.
func (b *Backend) WatchUpdate(instanceID, updateID string) (*UpdateWatch, error) {
	subject, err := b.updateSubject(instanceID, updateID)
	if err != nil {
		return nil, err
	}
	c := make(chan *nats.Msg, resultWatchBuffer)
	sub, err := b.nc.ChanSubscribe(subject, c)
	if err != nil {
		return nil, fmt.Errorf("streams: watch update %q of %q: %w", updateID, instanceID, err)
	}
	return &UpdateWatch{sub: sub, c: c}, nil
}

// C delivers the raw notices; Decode reads one.
func (w *UpdateWatch) C() <-chan *nats.Msg { return w.c }

// DecodeUpdateNotice reads a notice; a malformed one is an error.
func DecodeUpdateNotice(msg *nats.Msg) (*UpdateNotice, error) {
	var n UpdateNotice
	if err := json.Unmarshal(msg.Data, &n); err != nil {
		return nil, fmt.Errorf("streams: malformed update notice: %w", err)
	}
	return &n, nil
}

// Next waits for the next well-formed notice.
func (w *UpdateWatch) Next(ctx context.Context) (*UpdateNotice, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case msg := <-w.c:
			if n, err := DecodeUpdateNotice(msg); err == nil {
				return n, nil
			}
		}
	}
}

// Stop ends the watch.
func (w *UpdateWatch) Stop() error { return w.sub.Unsubscribe() }
