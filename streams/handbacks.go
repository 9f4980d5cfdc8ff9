package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// An activity task that a worker hands back without running it (its
// arguments are unavailable to that worker: a key it lacks) is delivered
// again, and JetStream counts the delivery. Such hand-backs are not
// attempts: the worker subtracts them from the delivery count, and keeps
// their number beside the activity's heartbeat details, where every
// worker of the queue finds it (and the same TTL drops it if nobody
// removes it).

// handBacksKey is the key of an activity's hand-back count.
func (b *Backend) handBacksKey(a ActivityRef) (string, error) {
	key, err := b.detailsKey(a)
	if err != nil {
		return "", err
	}
	return key + ".handbacks", nil
}

// ActivityHandBacks returns how many times workers handed the activity's
// task back without running it (0 when none was recorded).
func (b *Backend) ActivityHandBacks(ctx context.Context, a ActivityRef) (int, error) {
	key, err := b.handBacksKey(a)
	if err != nil {
		return 0, err
	}
	bctx, cancel := b.bounded(ctx)
	defer cancel()
	kv, _, err := b.detailsKV(bctx)
	if err != nil {
		return 0, err
	}
	e, err := kv.Get(bctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("streams: read hand-backs of %s: %w", key, err)
	}
	n, err := strconv.Atoi(string(e.Value()))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("streams: hand-backs of %s: %q is not a count", key, e.Value())
	}
	return n, nil
}

// PutActivityHandBacks stores how many times workers handed the activity's
// task back without running it.
func (b *Backend) PutActivityHandBacks(ctx context.Context, a ActivityRef, n int) error {
	key, err := b.handBacksKey(a)
	if err != nil {
		return err
	}
	bctx, cancel := b.bounded(ctx)
	defer cancel()
	kv, _, err := b.detailsKV(bctx)
	if err != nil {
		return err
	}
	if _, err := kv.Put(bctx, key, []byte(strconv.Itoa(n))); err != nil {
		return fmt.Errorf("streams: store hand-backs of %s: %w", key, err)
	}
	return nil
}

// DeleteActivityHandBacks removes the activity's hand-back count, leaving no
// marker behind; removing none is not an error.
func (b *Backend) DeleteActivityHandBacks(ctx context.Context, a ActivityRef) error {
	key, err := b.handBacksKey(a)
	if err != nil {
		return err
	}
	return b.purgeDetailsKey(ctx, key, "hand-backs")
}
