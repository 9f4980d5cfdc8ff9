package streams

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/history"
)

// ResultNotice announces on core NATS that a run of an instance ended. It is
// a hint to wake waiters, not a record: the registry holds the outcome.
// When the outcome is small the notice carries it too (Outcome), so a
// waiter that knows the run ended need not read the registry again.
type ResultNotice struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id"`
	Status      Status `json:"status"`
	// Outcome says the notice carries the run's outcome: WorkflowName,
	// Result and Failure are what the registry holds for the run.
	Outcome      bool             `json:"outcome,omitempty"`
	WorkflowName string           `json:"workflow,omitempty"`
	Result       []byte           `json:"result,omitempty"`
	Failure      *history.Failure `json:"failure,omitempty"`
}

// MaxNoticeOutcome is the largest result and failure, in bytes together,
// a result notice carries; larger ones are read from the registry.
const MaxNoticeOutcome = 4 << 10

// PublishResultNotice tells anyone waiting on the instance that a run ended.
// Nobody listening is no error.
func (b *Backend) PublishResultNotice(n ResultNotice) error {
	inst, err := EncodeInstanceID(n.InstanceID)
	if err != nil {
		return err
	}
	data, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("streams: encode result notice: %w", err)
	}
	if err := b.nc.Publish(b.n.result(inst), data); err != nil {
		return fmt.Errorf("streams: publish result notice of %q: %w", n.InstanceID, err)
	}
	return nil
}

// ResultWatch receives the result notices of one instance. Subscribe first,
// then read the registry with the same Backend: a run that ends in between
// is not missed.
type ResultWatch struct {
	sub *nats.Subscription
	c   chan *nats.Msg
}

// resultWatchBuffer is how many notices a watch holds unread. A run sends
// one notice, so a few suffice; SubscribeSync's default buffer (64k
// messages, half a megabyte allocated per watch) cost a third of the CPU
// of a thousand concurrent waiters.
const resultWatchBuffer = 16

// WatchResults subscribes to an instance's result notices.
func (b *Backend) WatchResults(instanceID string) (*ResultWatch, error) {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return nil, err
	}
	c := make(chan *nats.Msg, resultWatchBuffer)
	sub, err := b.nc.ChanSubscribe(b.n.result(inst), c)
	if err != nil {
		return nil, fmt.Errorf("streams: watch results of %q: %w", instanceID, err)
	}
	// No flush: the server handles a connection's messages in order, so
	// the subscription is in place before the registry read that follows
	// on the same connection, and a notice sent after that read reaches
	// it. (Waiting for the server's answer cost a round trip per wait.)
	return &ResultWatch{sub: sub, c: c}, nil
}

// Next waits for the next notice. Malformed notices are skipped.
func (w *ResultWatch) Next(ctx context.Context) (*ResultNotice, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case msg := <-w.c:
			var n ResultNotice
			if json.Unmarshal(msg.Data, &n) == nil {
				return &n, nil
			}
		}
	}
}

// Stop ends the watch.
func (w *ResultWatch) Stop() error { return w.sub.Unsubscribe() }
