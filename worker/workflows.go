package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
)

// maxConflictRetries bounds how often a task re-reads and re-runs after
// losing a commit race before it hands its messages back.
const maxConflictRetries = 5

// pollWorkflowTasks fetches inbox messages of a queue and hands them, grouped
// by instance, to the dispatcher until ctx ends.
func (w *Worker) pollWorkflowTasks(ctx context.Context, inbox *streams.InboxQueue, d *dispatcher) {
	for ctx.Err() == nil {
		msgs, err := inbox.Fetch(ctx, w.opts.FetchBatch, w.opts.PollWait)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("fetching workflow tasks failed", "queue", d.queue, "err", err)
				sleep(ctx, w.opts.TaskRetryDelay)
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
	if err := w.b.DeadLetter(ctx, kind, m, reason, cause); err != nil {
		w.log.Error("dead-lettering failed; the message will be redelivered", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(w.opts.TaskRetryDelay)
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

// processTask runs the workflow tasks of one instance's messages: one per
// run they are for.
func (w *Worker) processTask(queue, inst string, msgs []*streams.InboxMessage) {
	// Tasks finish even while the worker stops: what they started they
	// commit and acknowledge.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	byRun := map[string][]*streams.InboxMessage{}
	var runs []string
	for _, m := range msgs {
		run := m.Event.ExecutionID
		if run == "" {
			w.deadLetter(streams.DeadInbox, &m.TaskMessage, "inbox event names no run", fmt.Errorf("%s event without ExecutionID", m.Event.Kind))
			continue
		}
		if err := streams.CheckExecutionID(run); err != nil {
			w.deadLetter(streams.DeadInbox, &m.TaskMessage, "inbox event names an invalid run", err)
			continue
		}
		if _, seen := byRun[run]; !seen {
			runs = append(runs, run)
		}
		byRun[run] = append(byRun[run], m)
	}
	for _, run := range runs {
		w.runTask(ctx, queue, inst, run, byRun[run])
	}
}

// runTask is one workflow task: the run's executor takes the new events,
// and what it produces is committed, then published, then the messages are
// acknowledged.
func (w *Worker) runTask(ctx context.Context, queue, inst, run string, msgs []*streams.InboxMessage) {
	log := w.log.With("instance", inst, "run", run)
	events := make([]history.Event, len(msgs))
	for i, m := range msgs {
		events[i] = *m.Event
	}
	for attempt := 0; ; attempt++ {
		cr, err := w.loadRun(ctx, inst, run, attempt == 0 && startsFresh(msgs))
		if err != nil {
			var unknown *unknownWorkflowError
			if errors.As(err, &unknown) {
				w.unknownWorkflow(ctx, queue, inst, run, unknown, msgs, log)
				return
			}
			w.retryTaskLater(msgs, log, fmt.Errorf("could not load the run: %w", err))
			return
		}
		if cr == nil {
			cr, err = w.newRun(inst, run, events, msgs, log)
			if cr == nil {
				var unknown *unknownWorkflowError
				if errors.As(err, &unknown) {
					w.unknownWorkflow(ctx, queue, inst, run, unknown, msgs, log)
				}
				return
			}
		}

		out, err := cr.ex.Execute(events)
		if err != nil {
			if errors.Is(err, engine.ErrRunFinished) {
				// Late events for a finished run; any of them already
				// committed gets its commit's side effects republished,
				// and requests meant for the instance follow it to its
				// next run.
				err := w.recoverEffects(ctx, queue, inst, run, cr.started, msgs)
				if err == nil {
					err = w.forwardToNextRun(ctx, run, cr, msgs)
				}
				if err != nil {
					cr.ex.Close()
					w.retryTaskLater(msgs, log, err)
					return
				}
				cr.ex.Close()
				ackAll(msgs)
				return
			}
			cr.ex.Close()
			w.retryTaskLater(msgs, log, err)
			return
		}
		dropped := droppedMessages(msgs, out)
		if ahead := answersAhead(dropped, cr.ex.HistoryLength()); len(ahead) > 0 {
			// The executor has not seen the commands these events
			// answer: another worker committed since it was cached (or
			// the history was read from a replica that lags). Acking
			// would lose them, and with nothing to commit no sequence
			// check would notice. Re-read and re-run.
			cr.ex.Close()
			if attempt < maxConflictRetries {
				log.Debug("the executor is behind the history; re-reading", "attempt", attempt+1)
				continue
			}
			w.holdBack(ahead, log)
			if rest := without(msgs, ahead); len(rest) > 0 {
				w.runTask(ctx, queue, inst, run, rest)
			}
			return
		}
		if err := w.recoverEffects(ctx, queue, inst, run, cr.started, dropped); err != nil {
			// Hand everything back: the task runs again, and the
			// recovery with it.
			cr.ex.Close()
			w.retryTaskLater(msgs, log, err)
			return
		}
		if len(out) == 0 {
			w.cache.put(cr)
			ackAll(msgs)
			return
		}

		commit := &history.Commit{Events: out}
		seq, err := w.b.Commit(ctx, inst, run, cr.lastSeq, commit)
		if err != nil {
			cr.ex.Close()
			if errors.Is(err, streams.ErrConflict) && attempt < maxConflictRetries {
				log.Debug("commit conflict, re-reading the history", "attempt", attempt+1)
				continue
			}
			if errors.Is(err, streams.ErrPayloadTooLarge) {
				w.commitTooLarge(ctx, queue, inst, run, cr, out, msgs, log, err)
				return
			}
			w.retryTaskLater(msgs, log, err)
			return
		}
		cr.lastSeq = seq
		if err := w.publishEffects(ctx, queue, inst, run, cr.started, out, openWork{ex: cr.ex}); err != nil {
			// Committed: a redelivered message finds its event in the
			// history and republishes these effects.
			log.Warn("publishing the effects of a commit failed; they will be republished", "err", err)
			cr.ex.Close()
			nakAll(msgs, w.opts.TaskRetryDelay)
			return
		}
		if _, done := cr.ex.Final(); done {
			err := w.forwardToNextRun(ctx, run, cr, msgs)
			cr.ex.Close()
			if err != nil {
				// The run's end is committed; the redelivered messages
				// come back as late events and are forwarded then.
				log.Warn("forwarding requests to the next run failed; retrying", "err", err)
				nakAll(msgs, w.opts.TaskRetryDelay)
				return
			}
		} else {
			w.cache.put(cr)
		}
		ackAll(msgs)
		return
	}
}

// commitTooLarge handles a task whose commit the server refused as too
// large. Several events that fit one by one may not fit together: then
// they are taken one task at a time. A single event whose task still does
// not fit (a result, arguments or an error too large to store) fails the
// run with a clear, non-retryable PayloadTooLarge error, which replay
// accepts as the run's end.
func (w *Worker) commitTooLarge(ctx context.Context, queue, inst, run string, cr *cachedRun, out []history.Event,
	msgs []*streams.InboxMessage, log *slog.Logger, cause error) {
	if len(msgs) > 1 {
		log.Info("a task's commit is too large; taking its events one at a time", "events", len(msgs))
		nakAll(msgs[1:], w.opts.TaskRetryDelay)
		w.runTask(ctx, queue, inst, run, msgs[:1])
		return
	}
	var events []history.Event
	next := out[0].ID
	if cr.lastSeq == 0 {
		// The run's first commit: its history must begin with its start.
		started := out[0]
		if started.Kind != history.WorkflowStarted {
			w.retryTaskLater(msgs, log, fmt.Errorf("a first commit without its start: %w", cause))
			return
		}
		started.Args = nil // it may be what is too large; replay fails the run here anyway
		events = append(events, started)
		next = started.ID + 1
	}
	events = append(events, history.Event{
		Kind: history.WorkflowFailed,
		ID:   next,
		Time: time.Now().UTC(),
		Failure: &history.Failure{
			Type: engine.FailurePayloadTooLarge,
			Message: fmt.Sprintf("workflow %s: a workflow task produced more than the server accepts in one message (%v); "+
				"pass large data by reference (a key to a store) instead of as arguments, results or errors", cr.started.Name, cause),
			NonRetryable: true,
		},
	})
	if _, err := w.b.Commit(ctx, inst, run, cr.lastSeq, &history.Commit{Events: events}); err != nil {
		w.retryTaskLater(msgs, log, fmt.Errorf("failing a run whose task is too large: %w", err))
		return
	}
	log.Error("failed a run whose task's commit is too large", "err", cause)
	if err := w.publishEffects(ctx, queue, inst, run, cr.started, events, openWork{}); err != nil {
		w.retryTaskLater(msgs, log, err)
		return
	}
	ackAll(msgs)
}

// forwardToNextRun hands the signals, cancel and terminate requests that
// reached a run after it continued as new to the run that follows it: they
// were meant for the instance, which lives on in that run. Events the run
// took itself, and events of other kinds (answers to the old run's
// commands), stay behind. Forwarded events get message IDs derived from
// the next run, so forwarding twice delivers once.
func (w *Worker) forwardToNextRun(ctx context.Context, run string, cr *cachedRun, msgs []*streams.InboxMessage) error {
	final, done := cr.ex.Final()
	if !done || final.Kind != history.WorkflowContinuedAsNew {
		return nil
	}
	next := streams.ContinuedRunID(run)
	for _, m := range msgs {
		ev := *m.Event
		if cr.ex.Applied(ev.InboxID) {
			continue
		}
		switch ev.Kind {
		case history.SignalReceived:
			ev.InboxID = streams.ForwardedInboxID(next, ev.InboxID)
		case history.CancelRequested:
			ev.InboxID = streams.CancelInboxID(next)
		case history.TerminateRequested:
			ev.InboxID = streams.TerminateInboxID(next)
		default:
			continue
		}
		ev.ExecutionID = next
		if err := w.b.PublishEvent(ctx, cr.started.Queue, cr.key.instance, &ev); err != nil {
			return err
		}
		w.log.Debug("forwarded an event to the next run", "instance", cr.key.instance, "from_run", run, "to_run", next, "kind", ev.Kind)
	}
	return nil
}

// unknownWorkflowError says the run's workflow is not registered here.
type unknownWorkflowError struct {
	name    string
	started history.Event
	length  int64 // events in the run's history (0 before its start)
}

func (e *unknownWorkflowError) Error() string {
	return fmt.Sprintf("workflow %q is not registered with this worker", e.name)
}

// loadRun returns the run's cached executor, or replays its history into a
// new one; nil when the run has no history yet.
//
// fresh says the task starts the run (see startsFresh): then the run has no
// history to read, and an empty one is assumed without reading. Should the
// guess be wrong, the first commit finds the history not empty and the task
// re-reads.
func (w *Worker) loadRun(ctx context.Context, inst, run string, fresh bool) (*cachedRun, error) {
	key := runKey{inst, run}
	if cr := w.cache.take(key); cr != nil {
		return cr, nil
	}
	if fresh {
		return nil, nil
	}
	h, err := w.b.ReadHistory(ctx, inst, run)
	if err != nil {
		return nil, err
	}
	if len(h.Commits) == 0 {
		return nil, nil
	}
	events := h.Events()
	started := events[0]
	if started.Kind != history.WorkflowStarted {
		return nil, fmt.Errorf("%w: the run's history starts with %s", engine.ErrBadHistory, started.Kind)
	}
	if _, ok := w.reg.Workflow(started.Name); !ok {
		return nil, &unknownWorkflowError{name: started.Name, started: started, length: int64(len(events))}
	}
	ex, err := w.newExecutor(inst, run)
	if err != nil {
		return nil, err
	}
	if err := ex.Replay(events); err != nil {
		ex.Close()
		return nil, err
	}
	return &cachedRun{key: key, ex: ex, lastSeq: h.LastSeq, started: started}, nil
}

// startsFresh reports whether a task holds its run's start delivered for
// the first time, so that no worker has committed anything for the run yet
// (a commit comes before the ack that ends a delivery).
func startsFresh(msgs []*streams.InboxMessage) bool {
	for _, m := range msgs {
		if m.Event.Kind == history.WorkflowStarted {
			return m.Deliveries() == 1
		}
	}
	return false
}

// newRun makes the executor of a run without history, from the task's
// WorkflowStarted event. Without one (events that overtook their run's
// start), the messages wait.
func (w *Worker) newRun(inst, run string, events []history.Event, msgs []*streams.InboxMessage, log *slog.Logger) (*cachedRun, error) {
	var started *history.Event
	for i := range events {
		if events[i].Kind == history.WorkflowStarted {
			started = &events[i]
			break
		}
	}
	if started == nil {
		oldest := msgs[0].Published()
		if time.Since(oldest) <= w.opts.UnknownNameTimeout {
			nakAll(msgs, w.opts.TaskRetryDelay)
			return nil, nil
		}
		// Waited long: is the run real? A run the registry names as
		// the instance's current one exists, and its start is late (a
		// starter that died after registering it retries later); its
		// events wait for it. Only events of a run nobody knows are
		// dead-lettered.
		if w.runRegistered(inst, run) {
			// A short wait: the start usually comes with the starter's
			// retry, and each check is one registry read.
			delay := min(backoff(w.opts.TaskRetryDelay, msgs[0].Deliveries()), 5*time.Second)
			log.Warn("events wait for a run whose start has not arrived", "waiting_since", oldest, "retry_in", delay)
			nakAll(msgs, delay)
			return nil, nil
		}
		for _, m := range msgs {
			w.deadLetter(streams.DeadInbox, &m.TaskMessage, "event for a run that never started", fmt.Errorf("run %q of %q has no history and no start", run, inst))
		}
		return nil, nil
	}
	if _, ok := w.reg.Workflow(started.Name); !ok {
		return nil, &unknownWorkflowError{name: started.Name, started: *started}
	}
	ex, err := w.newExecutor(inst, run)
	if err != nil {
		log.Warn("workflow task failed", "err", err)
		nakAll(msgs, w.opts.TaskRetryDelay)
		return nil, err
	}
	return &cachedRun{key: runKey{inst, run}, ex: ex, started: *started}, nil
}

// runRegistered reports whether the registry names run as the instance's
// current, running run. On a registry error it says yes: waiting longer
// loses nothing, dead-lettering might.
func (w *Worker) runRegistered(inst, run string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec, err := w.b.GetInstance(ctx, inst)
	switch {
	case errors.Is(err, streams.ErrInstanceNotFound) || errors.Is(err, streams.ErrInvalidName):
		return false
	case err != nil:
		return true
	}
	return rec.ExecutionID == run && rec.Status == streams.StatusRunning
}

func (w *Worker) newExecutor(inst, run string) (*engine.Executor, error) {
	return engine.NewExecutor(engine.Options{
		InstanceID:       inst,
		ExecutionID:      run,
		Registry:         w.reg,
		Converter:        w.conv,
		Logger:           w.log,
		BlockedTimeout:   w.opts.BlockedTimeout,
		MaxHistoryLength: w.opts.MaxHistoryLength,
	})
}

// unknownWorkflow leaves a run of a workflow this worker lacks to other
// workers of the queue for UnknownNameTimeout, then fails it: no worker
// of the queue took it in that time.
func (w *Worker) unknownWorkflow(ctx context.Context, queue, inst, run string, u *unknownWorkflowError, msgs []*streams.InboxMessage, log *slog.Logger) {
	oldest := msgs[0].Published()
	if wait := w.opts.UnknownNameTimeout - time.Since(oldest); wait > 0 {
		nakAll(msgs, min(wait, time.Second))
		return
	}
	failure := &history.Failure{
		Type:         "UnknownWorkflow",
		Message:      fmt.Sprintf("no worker of queue %q has workflow %q registered", queue, u.name),
		NonRetryable: true,
	}
	var out []history.Event
	var lastSeq uint64
	next := u.length + 1
	if u.length == 0 {
		started := u.started
		started.ID = 1
		out = append(out, started)
		next = 2
	} else {
		h, err := w.b.ReadHistory(ctx, inst, run)
		if err != nil {
			nakAll(msgs, w.opts.TaskRetryDelay)
			return
		}
		lastSeq = h.LastSeq
		next = int64(len(h.Events())) + 1
	}
	out = append(out, history.Event{Kind: history.WorkflowFailed, ID: next, Time: time.Now().UTC(), Failure: failure})
	if _, err := w.b.Commit(ctx, inst, run, lastSeq, &history.Commit{Events: out}); err != nil {
		log.Warn("failing a run of an unknown workflow did not commit; retrying", "err", err)
		nakAll(msgs, w.opts.TaskRetryDelay)
		return
	}
	log.Error("failed a run of an unknown workflow", "workflow", u.name)
	if err := w.publishEffects(ctx, queue, inst, run, u.started, out, openWork{}); err != nil {
		nakAll(msgs, w.opts.TaskRetryDelay)
		return
	}
	ackAll(msgs)
}

// retryTaskLater hands the messages back with a growing delay: the task
// failed without failing its run (non-determinism, code blocked outside the
// workflow API, NATS trouble), and may succeed after a fix or a recovery.
func (w *Worker) retryTaskLater(msgs []*streams.InboxMessage, log *slog.Logger, err error) {
	n := msgs[0].Deliveries()
	delay := backoff(w.opts.TaskRetryDelay, n)
	log.Error("workflow task failed; retrying later", "err", err, "deliveries", n, "retry_in", delay)
	nakAll(msgs, delay)
}

// answersAhead returns the messages that answer a command later than the
// last event the executor knows: it is behind the run's history.
func answersAhead(msgs []*streams.InboxMessage, historyLength int64) []*streams.InboxMessage {
	var ahead []*streams.InboxMessage
	for _, m := range msgs {
		switch m.Event.Kind {
		case history.ActivityCompleted, history.ActivityFailed, history.TimerFired,
			history.SubWorkflowCompleted, history.SubWorkflowFailed, history.SignalDelivered:
			if m.Event.ScheduleID > historyLength {
				ahead = append(ahead, m)
			}
		}
	}
	return ahead
}

// maxAheadDeliveries is how often an event that answers a command its
// run's history does not have is handed back before it is dead-lettered:
// a lagging replica catches up long before; a run removed meanwhile, or a
// forged event, never does. The count includes deliveries for other
// reasons (an outage), so it is generous: with the backoff capped at a
// minute, about half an hour.
const maxAheadDeliveries = 40

// holdBack hands back events that answer commands the history read does not
// have yet, or dead-letters them once they have come back too often.
func (w *Worker) holdBack(msgs []*streams.InboxMessage, log *slog.Logger) {
	for _, m := range msgs {
		if n := m.Deliveries(); n >= maxAheadDeliveries {
			w.deadLetter(streams.DeadInbox, &m.TaskMessage, "answers a command the run's history does not have",
				fmt.Errorf("%s for event %d, after %d deliveries", m.Event.Kind, m.Event.ScheduleID, n))
			continue
		}
		delay := backoff(w.opts.TaskRetryDelay, m.Deliveries())
		log.Warn("an event answers a command the history read does not have yet; retrying later",
			"kind", m.Event.Kind, "schedule_id", m.Event.ScheduleID, "retry_in", delay)
		_ = m.NakWithDelay(delay)
	}
}

// without returns msgs except those in drop.
func without(msgs, drop []*streams.InboxMessage) []*streams.InboxMessage {
	out := make([]*streams.InboxMessage, 0, len(msgs))
	for _, m := range msgs {
		if !slices.Contains(drop, m) {
			out = append(out, m)
		}
	}
	return out
}

// droppedMessages returns the messages whose events the executor did not
// take (already applied, or stale).
func droppedMessages(msgs []*streams.InboxMessage, out []history.Event) []*streams.InboxMessage {
	taken := make(map[string]bool, len(msgs))
	for i := range out {
		if out[i].Kind.Inbound() {
			taken[out[i].InboxID] = true
		}
	}
	var dropped []*streams.InboxMessage
	for _, m := range msgs {
		if !taken[m.Event.InboxID] {
			dropped = append(dropped, m)
		}
	}
	return dropped
}

func nakAll(msgs []*streams.InboxMessage, delay time.Duration) {
	for _, m := range msgs {
		_ = m.NakWithDelay(delay)
	}
}

func ackAll(msgs []*streams.InboxMessage) {
	for _, m := range msgs {
		_ = m.Ack()
	}
}
