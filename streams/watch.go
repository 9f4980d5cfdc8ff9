package streams

import (
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
)

// ChangeWatch tells that something may have changed: an instance's
// registry entry or history (WatchInstance), or any registry entry
// (WatchInstances). It carries no data; the watcher re-reads what it shows.
//
// It listens with core NATS subscriptions on the subjects JetStream stores,
// so it costs no consumer and nothing on the server beyond an interest. Core
// NATS may drop a message under load, so a watcher that must not miss a
// change also re-reads now and then.
type ChangeWatch struct {
	c    chan struct{}
	mu   sync.Mutex
	subs []*nats.Subscription
}

// C receives a value after one or more changes. Changes that come while a
// value waits unread are folded into it.
func (w *ChangeWatch) C() <-chan struct{} { return w.c }

// Stop ends the watch. C is not closed.
func (w *ChangeWatch) Stop() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first error
	for _, s := range w.subs {
		if err := s.Unsubscribe(); err != nil && first == nil {
			first = err
		}
	}
	w.subs = nil
	return first
}

func (w *ChangeWatch) notify(*nats.Msg) {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// WatchInstance reports changes to one instance: its registry entry and
// the history of any of its runs.
func (b *Backend) WatchInstance(instanceID string) (*ChangeWatch, error) {
	key, err := EncodeInstanceID(instanceID)
	if err != nil {
		return nil, err
	}
	w, err := b.watch(b.n.historyOfInstance(key), "$KV."+b.n.registryBucket()+"."+key)
	if err != nil {
		return nil, fmt.Errorf("streams: watch instance %q: %w", instanceID, err)
	}
	return w, nil
}

// WatchInstances reports changes to any registry entry of the namespace:
// an instance started, moved to another run, finished or was removed.
func (b *Backend) WatchInstances() (*ChangeWatch, error) {
	w, err := b.watch("$KV." + b.n.registryBucket() + ".>")
	if err != nil {
		return nil, fmt.Errorf("streams: watch instances: %w", err)
	}
	return w, nil
}

func (b *Backend) watch(subjects ...string) (*ChangeWatch, error) {
	w := &ChangeWatch{c: make(chan struct{}, 1)}
	for _, subj := range subjects {
		s, err := b.nc.Subscribe(subj, w.notify)
		if err != nil {
			w.Stop()
			return nil, err
		}
		w.subs = append(w.subs, s)
	}
	// The server must know the interest before the caller reads what it
	// shows, or a change in between would go unseen.
	if err := b.nc.Flush(); err != nil {
		w.Stop()
		return nil, err
	}
	return w, nil
}
