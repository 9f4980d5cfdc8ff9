package worker

// Dispatch: the inbox pollers, and the dispatcher that turns fetched
// messages into workflow tasks (workflows.go), one at a time per instance
// within the worker's task slots.

import (
	"context"
	"sync"
	"time"

	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
)

// pollWorkflowTasks fetches inbox messages of a queue and hands them, grouped
// by instance, to the dispatcher until ctx ends.
func (w *Worker) pollWorkflowTasks(ctx context.Context, inbox *streams.InboxQueue, d *dispatcher) {
	for ctx.Err() == nil {
		began := time.Now()
		msgs, err := inbox.Fetch(ctx, w.opts.FetchBatch, w.opts.PollWait)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("fetching workflow tasks failed", logkey.Queue, d.queue, logkey.Err, err)
				sleepRest(ctx, began, w.opts.TaskRetryDelay)
			}
			continue
		}
		byInstance := map[string][]*streams.InboxMessage{}
		var order []string
		for _, m := range msgs {
			if m.Err != nil {
				w.deadLetter(streams.DeadInbox, &m.TaskMessage, "undecodable inbox message", m.Err)
				continue
			}
			if _, seen := byInstance[m.InstanceID]; !seen {
				order = append(order, m.InstanceID)
			}
			byInstance[m.InstanceID] = append(byInstance[m.InstanceID], m)
		}
		for _, inst := range order {
			d.dispatch(ctx, inst, byInstance[inst])
		}
	}
}

func (w *Worker) deadLetter(kind string, m *streams.TaskMessage, reason string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.tel.DeadLetters.Add(ctx, 1, w.tel.Attrs("", telemetry.KeyKind, kind, "", ""))
	if err := w.b.DeadLetter(ctx, kind, m, reason, cause); err != nil {
		w.log.Error("dead-lettering failed; the message will be redelivered", logkey.Subject, m.Subject(), logkey.Err, err)
		_ = m.NakWithDelay(w.opts.TaskRetryDelay)
	}
}

// sleepRest sleeps what is left of d since began: a failed fetch is tried
// again at most every d, but a fetch that already waited d (it retries
// while its consumer elects a leader) is tried again at once, so the
// worker asks the new leader as soon as the fetch's own retries would.
func sleepRest(ctx context.Context, began time.Time, d time.Duration) {
	if rest := d - time.Since(began); rest > 0 {
		sleep(ctx, rest)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// dispatcher runs workflow tasks, at most one at a time per instance: the
// messages of an instance that arrive while its task runs wait and form its
// next task.
type dispatcher struct {
	w     *Worker
	queue string
	slots chan struct{}

	mu      sync.Mutex
	waiting map[string][]*streams.InboxMessage // present while the instance has a task running
}

func newDispatcher(w *Worker, queue string, slots chan struct{}) *dispatcher {
	return &dispatcher{w: w, queue: queue, slots: slots, waiting: map[string][]*streams.InboxMessage{}}
}

func (d *dispatcher) dispatch(ctx context.Context, inst string, msgs []*streams.InboxMessage) {
	d.mu.Lock()
	if queued, busy := d.waiting[inst]; busy {
		d.waiting[inst] = append(queued, msgs...)
		d.mu.Unlock()
		return
	}
	d.waiting[inst] = nil
	d.mu.Unlock()

	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		// Stopping: hand the messages back for another worker.
		d.mu.Lock()
		msgs = append(msgs, d.waiting[inst]...)
		delete(d.waiting, inst)
		d.mu.Unlock()
		for _, m := range msgs {
			_ = m.Nak()
		}
		return
	}
	d.w.tasks.Add(1)
	go d.run(inst, msgs)
}

func (d *dispatcher) run(inst string, msgs []*streams.InboxMessage) {
	defer d.w.tasks.Done()
	defer func() { <-d.slots }()
	for {
		d.w.processTask(d.queue, inst, msgs)
		d.mu.Lock()
		next := d.waiting[inst]
		if len(next) == 0 {
			delete(d.waiting, inst)
			d.mu.Unlock()
			return
		}
		d.waiting[inst] = nil
		d.mu.Unlock()
		msgs = next
	}
}
