package streams

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
)

// ResultNotice announces on core NATS that a run of an instance ended. It is
// a hint to wake waiters, not a record: waiters then read the registry.
type ResultNotice struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id"`
	Status      Status `json:"status"`
}

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
// then read the registry: a run that ends in between is not missed.
type ResultWatch struct {
	sub *nats.Subscription
}

// WatchResults subscribes to an instance's result notices.
func (b *Backend) WatchResults(instanceID string) (*ResultWatch, error) {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return nil, err
	}
	sub, err := b.nc.SubscribeSync(b.n.result(inst))
	if err != nil {
		return nil, fmt.Errorf("streams: watch results of %q: %w", instanceID, err)
	}
	// Make sure the server has the subscription before the caller reads
	// the registry; otherwise a notice sent in between could be missed.
	if err := b.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("streams: watch results of %q: %w", instanceID, err)
	}
	return &ResultWatch{sub: sub}, nil
}

// Next waits for the next notice. Malformed notices are skipped.
func (w *ResultWatch) Next(ctx context.Context) (*ResultNotice, error) {
	for {
		msg, err := w.sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, err
		}
		var n ResultNotice
		if json.Unmarshal(msg.Data, &n) == nil {
			return &n, nil
		}
	}
}

// Stop ends the watch.
func (w *ResultWatch) Stop() error { return w.sub.Unsubscribe() }
