package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// maxConflictRetries bounds how often a task re-reads and re-runs after
// losing a commit race before it hands its messages back.
const maxConflictRetries = 5

// processTask runs the workflow tasks of one instance's messages: one per
// run they are for.
func (w *Worker) processTask(queue, inst string, msgs []*streams.InboxMessage) {
	// Tasks finish even while the worker stops: what they started they
	// commit and acknowledge.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w.recordQueueLag(queue, msgs, time.Now())
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
// acknowledged. decideTask does the work and says how it ended; settle
// carries that out, in one place for every way a task can end.
func (w *Worker) runTask(ctx context.Context, queue, inst, run string, msgs []*streams.InboxMessage) {
	start := time.Now()
	log := w.log.With(logkey.Instance, inst, logkey.Execution, run)
	for attempt := 0; ; attempt++ {
		o := w.decideTask(ctx, queue, inst, run, msgs, attempt == 0, log)
		if o.reread != "" && attempt < maxConflictRetries {
			o.release(w.cache)
			log.Debug(o.reread, logkey.Attempt, attempt+1)
			continue
		}
		w.settle(ctx, queue, inst, run, msgs, o, log)
		w.recordTaskMetrics(queue, &o, start)
		return
	}
}

// outcomeKind is how a workflow task's messages are settled.
type outcomeKind int

const (
	// settleAck acknowledges the messages: the task is done.
	settleAck outcomeKind = iota
	// settleRetry hands the messages back with a delay that grows with
	// their deliveries: the task failed without failing its run.
	settleRetry
	// settleNak hands the messages back after delay: the task is to be
	// taken again soon (effects to republish, a start to wait for).
	settleNak
	// settleDeadLetter moves the messages to the dead-letter stream.
	settleDeadLetter
	// settleHoldBack hands back (or dead-letters) the messages in ahead,
	// which answer commands the history read does not have, and runs the
	// rest as a task of their own.
	settleHoldBack
	// settleSplit hands back all messages but the first and runs that one
	// alone: together they made a commit too large to store.
	settleSplit
	// settleTooLarge fails the run: a single event's task made a commit
	// too large to store.
	settleTooLarge
	// settleUnknown leaves a run of a workflow this worker lacks to other
	// workers of the queue for a while, then fails it.
	settleUnknown
)

// taskOutcome is what a workflow task decided: what becomes of its
// executor and its messages. Only settle acts on it.
type taskOutcome struct {
	kind outcomeKind
	// cr is the task's executor, if it got one; keep puts it back into
	// the cache, otherwise settle closes it.
	cr   *cachedRun
	keep bool
	// err says why the task did not end with an ack; warn, when set, is
	// logged with it at warning level before the messages are handed back.
	err  error
	warn string
	// delay is settleNak's wait.
	delay time.Duration
	// reread, when set, says the executor is behind the history: the task
	// re-reads and runs again (logging reread), unless it has done so too
	// often; then the outcome is settled as it is.
	reread string
	// reason is settleDeadLetter's reason.
	reason string
	// ahead are settleHoldBack's messages.
	ahead []*streams.InboxMessage
	// out is the commit settleTooLarge could not store.
	out []history.Event
	// unknown is settleUnknown's workflow.
	unknown *unknownWorkflowError
}

// release disposes of the task's executor: back into the cache, or closed.
func (o *taskOutcome) release(c *executorCache) {
	if o.cr == nil {
		return
	}
	if o.keep {
		c.put(o.cr)
	} else {
		o.cr.ex.Close()
	}
}

// Outcomes the task builds most often.
func ack(cr *cachedRun, keep bool) taskOutcome {
	return taskOutcome{kind: settleAck, cr: cr, keep: keep}
}
func retryLater(cr *cachedRun, err error) taskOutcome {
	return taskOutcome{kind: settleRetry, cr: cr, err: err}
}

// settle carries out a task's outcome: it disposes of the executor, then
// acknowledges, hands back or dead-letters the messages. Outcomes that need
// more work (a run too large to store, an unknown workflow, messages to
// run apart) do it here and settle what that work decides.
func (w *Worker) settle(ctx context.Context, queue, inst, run string, msgs []*streams.InboxMessage, o taskOutcome, log *slog.Logger) {
	o.release(w.cache)
	switch o.kind {
	case settleAck:
		ackAll(msgs)
	case settleRetry:
		w.retryTaskLater(msgs, log, o.err)
	case settleNak:
		if o.warn != "" {
			log.Warn(o.warn, logkey.Err, o.err)
		}
		nakAll(msgs, o.delay)
	case settleDeadLetter:
		for _, m := range msgs {
			w.deadLetter(streams.DeadInbox, &m.TaskMessage, o.reason, o.err)
		}
	case settleHoldBack:
		w.holdBack(o.ahead, log)
		if rest := without(msgs, o.ahead); len(rest) > 0 {
			w.runTask(ctx, queue, inst, run, rest)
		}
	case settleSplit:
		log.Info("a task's commit is too large; taking its events one at a time", "events", len(msgs))
		nakAll(msgs[1:], w.opts.TaskRetryDelay)
		w.runTask(ctx, queue, inst, run, msgs[:1])
	case settleTooLarge:
		w.settle(ctx, queue, inst, run, msgs, w.failTooLarge(ctx, queue, inst, run, o.cr, o.out, log, o.err), log)
	case settleUnknown:
		w.settle(ctx, queue, inst, run, msgs, w.failUnknownWorkflow(ctx, queue, inst, run, o.unknown, msgs, log), log)
	}
}

// decideTask runs one attempt of a task, up to its commit and side effects,
// and says how it ended. first says it is the task's first attempt.
func (w *Worker) decideTask(ctx context.Context, queue, inst, run string, msgs []*streams.InboxMessage, first bool, log *slog.Logger) (o taskOutcome) {
	events := make([]history.Event, len(msgs))
	for i, m := range msgs {
		events[i] = *m.Event
	}
	cr, err := w.loadRun(ctx, inst, run, first && startsFresh(msgs))
	if err != nil {
		var unknown *unknownWorkflowError
		if errors.As(err, &unknown) {
			return taskOutcome{kind: settleUnknown, unknown: unknown}
		}
		return retryLater(nil, fmt.Errorf("could not load the run: %w", err))
	}
	if cr == nil {
		var o taskOutcome
		if cr, o = w.newRun(inst, run, events, msgs, log); cr == nil {
			return o
		}
	}

	// A span for new work only: a task whose events are all applied
	// already (a redelivery) adds none.
	var span trace.Span
	var spanCtx context.Context
	var timers map[int64]history.Event
	if hasNewEvents(cr, msgs) {
		spanCtx, span = w.startTaskSpan(cr, queue, inst, run, msgs)
		defer func() {
			cr.trace.current.set(trace.SpanContext{})
			err := o.err
			if err == nil && o.reread != "" {
				err = errors.New(o.reread)
			}
			telemetry.EndSpan(span, err)
		}()
		if span.IsRecording() {
			timers = timerStarts(cr, msgs)
		}
	}

	cr.lease.set(msgs)
	out, err := cr.ex.Execute(events)
	cr.lease.set(nil)
	if err != nil {
		if !errors.Is(err, engine.ErrRunFinished) {
			return retryLater(cr, err)
		}
		// Late events for a finished run; any of them already committed
		// gets its commit's side effects republished, and requests meant
		// for the instance follow it to its next run.
		err := w.recoverEffects(ctx, queue, inst, run, cr.started, msgs)
		if err == nil {
			err = w.forwardToNextRun(ctx, run, cr, msgs)
		}
		if err != nil {
			return retryLater(cr, err)
		}
		w.answerUpdates(inst, run, cr.ex.LateUpdateAnswers(events), log)
		return ack(cr, false)
	}
	dropped := droppedMessages(msgs, out)
	if ahead := answersAhead(dropped, cr.ex.HistoryLength()); len(ahead) > 0 {
		// The executor has not seen the commands these events answer:
		// another worker committed since it was cached (or the history
		// was read from a replica that lags). Acking would lose them, and
		// with nothing to commit no sequence check would notice. Re-read
		// and re-run.
		return taskOutcome{kind: settleHoldBack, cr: cr, ahead: ahead, reread: "the executor is behind the history; re-reading"}
	}
	if err := w.recoverEffects(ctx, queue, inst, run, cr.started, dropped); err != nil {
		// Hand everything back: the task runs again, and the recovery
		// with it.
		return retryLater(cr, err)
	}
	answers := cr.ex.TakeUpdateAnswers()
	if len(out) == 0 {
		w.answerUpdates(inst, run, answers, log)
		return ack(cr, true)
	}
	if span != nil {
		w.traceCommit(spanCtx, cr, out)
	}

	seq, err := w.b.Commit(ctx, inst, run, cr.lastSeq, &history.Commit{Events: out})
	if err != nil {
		switch {
		case errors.Is(err, streams.ErrConflict):
			w.tel.Conflicts.Add(context.Background(), 1, w.tel.Attrs(queue, telemetry.KeyWorkflow, cr.started.Name, "", ""))
			o := retryLater(cr, err)
			o.reread = "commit conflict, re-reading the history"
			return o
		case errors.Is(err, streams.ErrPayloadTooLarge) && len(msgs) > 1:
			return taskOutcome{kind: settleSplit, cr: cr}
		case errors.Is(err, streams.ErrPayloadTooLarge):
			return taskOutcome{kind: settleTooLarge, cr: cr, out: out, err: err}
		}
		return retryLater(cr, err)
	}
	cr.lastSeq = seq
	w.tel.Commits.Add(context.Background(), 1, w.tel.Attrs(queue, telemetry.KeyWorkflow, cr.started.Name, "", ""))
	if span != nil && span.IsRecording() {
		w.committedSpans(spanCtx, timers, out)
	}
	if final, done := cr.ex.Final(); done {
		w.recordRunEnd(queue, cr, final)
	}
	if err := w.publishEffects(ctx, queue, inst, run, cr.started, out, openWork{ex: cr.ex}); err != nil {
		// Committed: a redelivered message finds its event in the history
		// and republishes these effects.
		return taskOutcome{kind: settleNak, cr: cr, delay: w.opts.TaskRetryDelay, err: err,
			warn: "publishing the effects of a commit failed; they will be republished"}
	}
	w.answerUpdates(inst, run, answers, log)
	if _, done := cr.ex.Final(); !done {
		return ack(cr, true)
	}
	if err := w.forwardToNextRun(ctx, run, cr, msgs); err != nil {
		// The run's end is committed; the redelivered messages come back
		// as late events and are forwarded then.
		return taskOutcome{kind: settleNak, cr: cr, delay: w.opts.TaskRetryDelay, err: err,
			warn: "forwarding requests to the next run failed; retrying"}
	}
	return ack(cr, false)
}

// failTooLarge fails a run whose task's commit, for a single event, the
// server refused as too large (a result, arguments or an error too large
// to store), with a clear, non-retryable PayloadTooLarge error, which
// replay accepts as the run's end. (Several events that fit one by one
// but not together are split instead: settleSplit.) cr's executor is
// closed; its started event and last sequence are still good.
func (w *Worker) failTooLarge(ctx context.Context, queue, inst, run string, cr *cachedRun, out []history.Event,
	log *slog.Logger, cause error) taskOutcome {
	var events []history.Event
	next := out[0].ID
	if cr.lastSeq == 0 {
		// The run's first commit: its history must begin with its start.
		started := out[0]
		if started.Kind != history.WorkflowStarted {
			return retryLater(nil, fmt.Errorf("a first commit without its start: %w", cause))
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
			Type: workflow.ErrTypePayloadTooLarge,
			Message: fmt.Sprintf("workflow %s: a workflow task produced more than the server accepts in one message (%v); "+
				"pass large data by reference (a key to a store) instead of as arguments, results or errors", cr.started.Name, cause),
			NonRetryable: true,
		},
	})
	if _, err := w.b.Commit(ctx, inst, run, cr.lastSeq, &history.Commit{Events: events}); err != nil {
		return retryLater(nil, fmt.Errorf("failing a run whose task is too large: %w", err))
	}
	log.Error("failed a run whose task's commit is too large", logkey.Err, cause)
	if err := w.publishEffects(ctx, queue, inst, run, cr.started, events, openWork{}); err != nil {
		return retryLater(nil, err)
	}
	return ack(nil, false)
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
		w.log.Debug("forwarded an event to the next run", logkey.Instance, cr.key.instance, logkey.Execution, run, "next_execution_id", next, logkey.Kind, ev.Kind)
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
		w.tel.CacheHits.Add(context.Background(), 1, w.tel.Attrs("", "", "", "", ""))
		return cr, nil
	}
	if fresh {
		return nil, nil
	}
	w.tel.CacheMisses.Add(context.Background(), 1, w.tel.Attrs("", "", "", "", ""))
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
	spans, lease := &spanHolder{}, &leaseHolder{every: w.b.AckWait() / 3}
	ex, err := w.newExecutor(inst, run, started.Queue, spans, lease)
	if err != nil {
		return nil, err
	}
	if err := ex.Replay(events); err != nil {
		ex.Close()
		return nil, err
	}
	return &cachedRun{key: key, ex: ex, lastSeq: h.LastSeq, started: started, trace: runTrace{current: spans}, lease: lease}, nil
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
// start), the messages wait: the outcome says how.
func (w *Worker) newRun(inst, run string, events []history.Event, msgs []*streams.InboxMessage, log *slog.Logger) (*cachedRun, taskOutcome) {
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
			return nil, taskOutcome{kind: settleNak, delay: w.opts.TaskRetryDelay}
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
			log.Warn("events wait for a run whose start has not arrived", "waiting_since", oldest, logkey.RetryIn, delay)
			return nil, taskOutcome{kind: settleNak, delay: delay}
		}
		return nil, taskOutcome{kind: settleDeadLetter, reason: "event for a run that never started",
			err: fmt.Errorf("run %q of %q has no history and no start", run, inst)}
	}
	if _, ok := w.reg.Workflow(started.Name); !ok {
		return nil, taskOutcome{kind: settleUnknown, unknown: &unknownWorkflowError{name: started.Name, started: *started}}
	}
	spans, lease := &spanHolder{}, &leaseHolder{every: w.b.AckWait() / 3}
	ex, err := w.newExecutor(inst, run, started.Queue, spans, lease)
	if err != nil {
		return nil, taskOutcome{kind: settleNak, delay: w.opts.TaskRetryDelay, err: err, warn: "workflow task failed"}
	}
	return &cachedRun{key: runKey{inst, run}, ex: ex, started: *started, trace: runTrace{current: spans}, lease: lease}, taskOutcome{}
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

// newExecutor makes a run's executor. spans, when given, tags the records
// of its workflow.Logger with the running task's trace and span IDs.
// queue is the run's, for the metrics of its local activities; lease, when
// given, keeps a task's messages leased while its local activities run.
func (w *Worker) newExecutor(inst, run, queue string, spans *spanHolder, lease *leaseHolder) (*engine.Executor, error) {
	log := w.log
	if spans != nil {
		log = slog.New(&traceLogHandler{inner: log.Handler(), h: spans})
	}
	return engine.NewExecutor(engine.Options{
		InstanceID:       inst,
		ExecutionID:      run,
		Registry:         w.reg,
		Converter:        w.conv,
		Logger:           log,
		BlockedTimeout:   w.opts.BlockedTimeout,
		MaxHistoryLength: w.opts.MaxHistoryLength,

		ContextPropagators: w.opts.ContextPropagators,
		LocalActivities:    w.localActivityRunner(queue, spans, lease),
	})
}

// failUnknownWorkflow leaves a run of a workflow this worker lacks to
// other workers of the queue for UnknownNameTimeout, then fails it: no
// worker of the queue took it in that time.
func (w *Worker) failUnknownWorkflow(ctx context.Context, queue, inst, run string, u *unknownWorkflowError, msgs []*streams.InboxMessage, log *slog.Logger) taskOutcome {
	oldest := msgs[0].Published()
	if wait := w.opts.UnknownNameTimeout - time.Since(oldest); wait > 0 {
		return taskOutcome{kind: settleNak, delay: min(wait, time.Second)}
	}
	failure := &history.Failure{
		Type:         workflow.ErrTypeUnknownWorkflow,
		Message:      fmt.Sprintf("no worker of queue %q has workflow %q registered", queue, u.name),
		NonRetryable: true,
	}
	retry := taskOutcome{kind: settleNak, delay: w.opts.TaskRetryDelay}
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
			return retry
		}
		lastSeq = h.LastSeq
		next = int64(len(h.Events())) + 1
	}
	out = append(out, history.Event{Kind: history.WorkflowFailed, ID: next, Time: time.Now().UTC(), Failure: failure})
	if _, err := w.b.Commit(ctx, inst, run, lastSeq, &history.Commit{Events: out}); err != nil {
		retry.err, retry.warn = err, "failing a run of an unknown workflow did not commit; retrying"
		return retry
	}
	log.Error("failed a run of an unknown workflow", logkey.Workflow, u.name)
	if err := w.publishEffects(ctx, queue, inst, run, u.started, out, openWork{}); err != nil {
		return retry
	}
	return ack(nil, false)
}

// retryTaskLater hands the messages back with a growing delay: the task
// failed without failing its run (non-determinism, code blocked outside the
// workflow API, NATS trouble), and may succeed after a fix or a recovery.
func (w *Worker) retryTaskLater(msgs []*streams.InboxMessage, log *slog.Logger, err error) {
	n := msgs[0].Deliveries()
	delay := backoff(w.opts.TaskRetryDelay, n)
	if errors.Is(err, streams.ErrPayloadUnavailable) {
		// The worker's configuration or the object store, not the run:
		// a worker with the key (or the store once back) takes it.
		log.Warn("workflow task cannot read a payload; retrying later", append(unavailableAttrs(err, delay), "deliveries", n)...)
	} else {
		log.Error("workflow task failed; retrying later", logkey.Err, err, "deliveries", n, logkey.RetryIn, delay)
	}
	nakAll(msgs, delay)
}

// unavailableAttrs are the log attributes of a payload this worker cannot
// read now (streams.ErrPayloadUnavailable): the error, the key it needs
// when that is the reason, and the delay before the task is tried again.
func unavailableAttrs(err error, delay time.Duration) []any {
	attrs := []any{logkey.Err, err, logkey.RetryIn, delay}
	if knf, ok := errors.AsType[*codec.KeyNotFoundError](err); ok {
		attrs = append(attrs, logkey.KeyID, knf.KeyID)
	}
	return attrs
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
			logkey.Kind, m.Event.Kind, "schedule_id", m.Event.ScheduleID, logkey.RetryIn, delay)
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
