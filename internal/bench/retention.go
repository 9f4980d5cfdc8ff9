package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/streams"
)

// expiryWatch sees, in one watch of the registry, when each instance's
// run finished (so when its removal is due) and when its entry was
// removed: what simple --retention reports.
type expiryWatch struct {
	retention time.Duration
	w         jetstream.KeyWatcher
	cancel    context.CancelFunc
	done      chan struct{}

	mu      sync.Mutex
	due     map[string]time.Time
	removed map[string]time.Time
}

func newExpiryWatch(ctx context.Context, js jetstream.JetStream, ns string, retention time.Duration) (*expiryWatch, error) {
	rctx, rcancel := context.WithTimeout(ctx, requestTimeout)
	kv, err := js.KeyValue(rctx, registryBucket(ns))
	rcancel()
	if err != nil {
		return nil, fmt.Errorf("bench: registry bucket: %w", err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := kv.WatchAll(wctx, jetstream.UpdatesOnly())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bench: watch the registry: %w", err)
	}
	x := &expiryWatch{retention: retention, w: w, cancel: cancel, done: make(chan struct{}),
		due: map[string]time.Time{}, removed: map[string]time.Time{}}
	go x.loop()
	return x, nil
}

func (x *expiryWatch) loop() {
	defer close(x.done)
	for e := range x.w.Updates() {
		if e == nil {
			continue
		}
		switch e.Operation() {
		case jetstream.KeyValuePurge, jetstream.KeyValueDelete:
			at := time.Now()
			x.mu.Lock()
			x.removed[e.Key()] = at
			x.mu.Unlock()
		case jetstream.KeyValuePut:
			var rec streams.InstanceRecord
			if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.FinishedAt.IsZero() {
				continue
			}
			x.mu.Lock()
			x.due[e.Key()] = rec.FinishedAt.Add(x.retention)
			x.mu.Unlock()
		}
	}
}

func (x *expiryWatch) removedCount() int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return int64(len(x.removed))
}

// wait waits until n entries are removed, or until the last due time plus
// limit has passed, and returns the expire phase: from the first due
// time to the last removal, with each removal's lateness after its due
// time.
func (x *expiryWatch) wait(ctx context.Context, n int, limit time.Duration) (Phase, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		x.mu.Lock()
		gone := len(x.removed)
		var lastDue time.Time
		for _, d := range x.due {
			if d.After(lastDue) {
				lastDue = d
			}
		}
		x.mu.Unlock()
		if gone >= n {
			break
		}
		if !lastDue.IsZero() && time.Since(lastDue) > limit {
			return Phase{}, fmt.Errorf("bench: %d of %d instances removed %s after the last was due", gone, n, limit)
		}
		select {
		case <-ctx.Done():
			return Phase{}, ctx.Err()
		case <-tick.C:
		}
	}
	x.close()
	var late []time.Duration
	var firstDue, lastRemoved time.Time
	for key, at := range x.removed {
		due, ok := x.due[key]
		if !ok {
			continue
		}
		late = append(late, at.Sub(due))
		if firstDue.IsZero() || due.Before(firstDue) {
			firstDue = due
		}
		if at.After(lastRemoved) {
			lastRemoved = at
		}
	}
	took := lastRemoved.Sub(firstDue)
	return Phase{Name: "expire", Count: len(late), Seconds: round(took.Seconds()), PerSecond: rate(len(late), took),
		Latency: Summarize(late), LatencyFrom: "the removal's due time"}, nil
}

func (x *expiryWatch) close() {
	x.cancel()
	_ = x.w.Stop()
	<-x.done
}
