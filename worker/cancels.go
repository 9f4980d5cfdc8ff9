package worker

import (
	"context"
	"sync"
	"time"

	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/streams"
)

// Bounds of the memory of cancels that arrived for activities not running
// here: enough to catch a retry or a task still queued, without growing
// without end.
const (
	canceledMemory    = 10_000
	canceledMemoryTTL = time.Hour
)

// activityCancels connects cancels from workflows to the activities this
// worker runs. A cancel for an activity that is not running here is
// remembered for a while: the activity may be waiting in the queue, or
// between two attempts, and must then not start again.
type activityCancels struct {
	mu       sync.Mutex
	running  map[streams.ActivityCancel]context.CancelCauseFunc
	canceled map[streams.ActivityCancel]time.Time
	order    []streams.ActivityCancel // canceled keys, oldest first
}

func newActivityCancels() *activityCancels {
	return &activityCancels{
		running:  map[streams.ActivityCancel]context.CancelCauseFunc{},
		canceled: map[streams.ActivityCancel]time.Time{},
	}
}

// cancel handles a cancel from a workflow.
func (c *activityCancels) cancel(key streams.ActivityCancel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stop, ok := c.running[key]; ok {
		stop(actrun.ErrCanceledByWorkflow)
	}
	if _, ok := c.canceled[key]; ok {
		return
	}
	now := time.Now()
	c.canceled[key] = now
	c.order = append(c.order, key)
	for len(c.order) > 0 && (len(c.order) > canceledMemory || now.Sub(c.canceled[c.order[0]]) > canceledMemoryTTL) {
		delete(c.canceled, c.order[0])
		c.order = c.order[1:]
	}
}

// start registers a running activity; it reports false if the activity
// was canceled already. Call the returned func when it ends.
func (c *activityCancels) start(key streams.ActivityCancel, stop context.CancelCauseFunc) (done func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, canceled := c.canceled[key]; canceled {
		return nil, false
	}
	c.running[key] = stop
	return func() {
		c.mu.Lock()
		delete(c.running, key)
		c.mu.Unlock()
	}, true
}
