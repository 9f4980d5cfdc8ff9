package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// observer tells when workflows end.
type observer interface {
	// expect announces a workflow about to start; call it before the
	// start, so an end that comes quickly is not missed.
	expect(id string) waiter
	close()
}

// waiter waits for the end of one expected workflow.
type waiter interface {
	// wait returns the workflow's encoded result and when its end was
	// observed; a workflow that did not complete gives an error.
	wait(ctx context.Context, inst *workflow.Instance) ([]byte, time.Time, error)
}

// resultObserver waits with client.GetWorkflowResult.
type resultObserver struct{ c *client.Client }

func (o resultObserver) expect(string) waiter { return o }
func (o resultObserver) close()               {}

func (o resultObserver) wait(ctx context.Context, inst *workflow.Instance) ([]byte, time.Time, error) {
	raw, err := client.GetWorkflowResult[msgpack.RawMessage](ctx, o.c, inst, 0)
	return raw, time.Now(), err
}

// watchObserver watches the registry with one JetStream key watch and
// hands each finished record to whoever expects it.
type watchObserver struct {
	w      jetstream.KeyWatcher
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	pending map[string]*watchWaiter
	err     error // why the watch ended early
}

type watchWaiter struct {
	o   *watchObserver
	id  string
	end chan watchEnd
}

type watchEnd struct {
	rec *streams.InstanceRecord
	at  time.Time
}

func newWatchObserver(ctx context.Context, js jetstream.JetStream, ns string) (*watchObserver, error) {
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
	o := &watchObserver{w: w, cancel: cancel, done: make(chan struct{}), pending: map[string]*watchWaiter{}}
	go o.loop()
	return o, nil
}

func (o *watchObserver) loop() {
	defer close(o.done)
	for e := range o.w.Updates() {
		if e == nil || e.Operation() != jetstream.KeyValuePut {
			continue
		}
		at := time.Now()
		var rec streams.InstanceRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			continue
		}
		if !rec.Status.Finished() || rec.Status == streams.StatusContinuedAsNew {
			continue
		}
		o.mu.Lock()
		w := o.pending[rec.InstanceID]
		delete(o.pending, rec.InstanceID)
		o.mu.Unlock()
		if w != nil {
			w.end <- watchEnd{rec: &rec, at: at}
		}
	}
	o.mu.Lock()
	o.err = errors.New("bench: the registry watch ended")
	o.mu.Unlock()
}

func (o *watchObserver) expect(id string) waiter {
	w := &watchWaiter{o: o, id: id, end: make(chan watchEnd, 1)}
	o.mu.Lock()
	o.pending[id] = w
	o.mu.Unlock()
	return w
}

func (o *watchObserver) close() {
	o.cancel()
	_ = o.w.Stop()
	<-o.done
}

func (w *watchWaiter) wait(ctx context.Context, inst *workflow.Instance) ([]byte, time.Time, error) {
	select {
	case end := <-w.end:
		if end.rec.Status != streams.StatusCompleted {
			msg := string(end.rec.Status)
			if end.rec.Failure != nil {
				msg += ": " + end.rec.Failure.Error()
			}
			return nil, end.at, fmt.Errorf("workflow %s (instance %q) ended %s", end.rec.WorkflowName, w.id, msg)
		}
		return end.rec.Result, end.at, nil
	case <-w.o.done:
		return nil, time.Time{}, w.o.err
	case <-ctx.Done():
		w.o.mu.Lock()
		delete(w.o.pending, w.id)
		w.o.mu.Unlock()
		return nil, time.Time{}, ctx.Err()
	}
}
