package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// pollActivities fetches activity tasks of a queue while slots are free and
// runs each in its own goroutine until ctx ends.
func (w *Worker) pollActivities(ctx context.Context, queue string, aq *streams.ActivityQueue, slots chan struct{}) {
	for ctx.Err() == nil {
		// Wait for a free slot before fetching, so fetched tasks start at
		// once instead of aging in memory.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1 + cap(slots) - len(slots)
		began := time.Now()
		msgs, err := aq.Fetch(ctx, min(free, w.opts.FetchBatch), w.opts.PollWait)
		<-slots
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("fetching activity tasks failed", logkey.Queue, queue, logkey.Err, err)
				sleepRest(ctx, began, w.opts.TaskRetryDelay)
			}
			continue
		}
		for _, m := range msgs {
			slots <- struct{}{}
			w.tasks.Add(1)
			go func() {
				defer w.tasks.Done()
				defer func() { <-slots }()
				w.runActivity(m)
			}()
		}
	}
}

// runActivity runs one attempt of an activity and settles its message:
// the result (or final failure) goes to the workflow's inbox, or the task
// goes back to the queue with the backoff of its retry policy.
func (w *Worker) runActivity(m *streams.ActivityMessage) {
	if m.Err != nil {
		w.deadLetter(streams.DeadActivity, &m.TaskMessage, "undecodable activity task", m.Err)
		return
	}
	t := m.Task
	ref := streams.ActivityRef{InstanceID: t.InstanceID, ExecutionID: t.ExecutionID, ScheduleID: t.ScheduleID}
	handBacks := w.handBacks(m, ref)
	// Deliveries that handed the task back unrun are not attempts.
	attempt := max(m.Attempt()-handBacks, 1)
	log := w.log.With(logkey.Instance, t.InstanceID, logkey.Execution, t.ExecutionID, logkey.Activity, t.Name, logkey.Attempt, attempt)
	fn, ok := w.reg.Activity(t.Name)
	if !ok {
		if wait := w.opts.UnknownNameTimeout - time.Since(t.ScheduledAt); wait > 0 {
			_ = m.NakWithDelay(min(wait, time.Second))
			return
		}
		w.finishActivity(m, nil, &history.Failure{
			Type:         workflow.ErrTypeUnknownActivity,
			Message:      fmt.Sprintf("no worker of queue %q has activity %q registered", t.Queue, t.Name),
			NonRetryable: true,
		}, log)
		return
	}

	details := newAttemptDetails(w, ref, attempt, log)
	// One span per attempt, a child of the task that scheduled it.
	sctx, span := w.startActivitySpan(m, attempt)
	began := time.Now()
	result, err := w.callActivity(sctx, m, attempt, fn, details)
	took := time.Since(began)
	if errors.Is(err, actenv.ErrResultPending) {
		// The attempt's span ends here; the outside system completes it.
		telemetry.EndSpan(span, nil)
		w.leaveActivityPending(m, log)
		return
	}
	telemetry.EndSpan(span, err)
	if errors.Is(err, actrun.ErrArgumentsUnavailable) {
		// Not the arguments' fault: this worker lacks their key, or the
		// object store did not give them. The task waits for a worker
		// that can read them; it must not fail the activity, nor use
		// up its attempts.
		w.handBack(m, ref, handBacks+1, err, log)
		return
	}
	if err == nil {
		w.recordActivity(m, began, took, outcomeCompleted)
		if w.finishActivity(m, result, nil, log) {
			details.remove()
			w.forgetHandBacks(ref, handBacks, log)
		}
		return
	}
	if delay, retry := w.retryDelay(attempt, m, err); retry {
		w.recordActivity(m, began, took, outcomeRetry)
		// The next attempt reads the last details this one recorded.
		details.flush(true)
		log.Info("activity attempt failed; retrying", logkey.Err, err, logkey.RetryIn, delay)
		_ = m.NakWithDelay(delay)
		return
	}
	w.recordActivity(m, began, took, outcomeFailed)
	log.Warn("activity failed", logkey.Err, err)
	if w.finishActivity(m, nil, engine.FailureFromError(err), log) {
		details.remove()
		w.forgetHandBacks(ref, handBacks, log)
	}
}

// handBacks returns how many deliveries of the task were handed back
// unrun (see streams.ActivityHandBacks); a first delivery had none. If
// the count cannot be read, they count as attempts.
func (w *Worker) handBacks(m *streams.ActivityMessage, ref streams.ActivityRef) int {
	if m.Deliveries() <= 1 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := w.b.ActivityHandBacks(ctx, ref)
	if err != nil {
		w.log.Warn("cannot read how often an activity task was handed back; counting those deliveries as attempts",
			logkey.Instance, ref.InstanceID, logkey.Activity, m.Task.Name, logkey.Err, err)
		return 0
	}
	return n
}

// handBack puts the task back on its queue unrun, for a worker that can
// read its arguments: the n-th time, with the task backoff for n
// (TaskRetryDelay doubled per hand-back, at most a minute), and records n
// so the deliveries are not counted as attempts.
func (w *Worker) handBack(m *streams.ActivityMessage, ref streams.ActivityRef, n int, err error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if perr := w.b.PutActivityHandBacks(ctx, ref, n); perr != nil {
		log.Warn("cannot record an activity task's hand-back; the delivery will count as an attempt", logkey.Err, perr)
	}
	delay := backoff(w.opts.TaskRetryDelay, uint64(n))
	w.recordHandBack(m)
	log.Warn("activity arguments cannot be read by this worker; handing the task back",
		append(unavailableAttrs(err, delay), "hand_backs", n)...)
	_ = m.NakWithDelay(delay)
}

// forgetHandBacks removes the hand-back count of an activity that ended.
func (w *Worker) forgetHandBacks(ref streams.ActivityRef, n int, log *slog.Logger) {
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.b.DeleteActivityHandBacks(ctx, ref); err != nil {
		log.Debug("removing an activity's hand-back count failed; its TTL will", logkey.Err, err)
	}
}

// callActivity runs the activity function with its deadline, lease keeping,
// heartbeat timeout, heartbeat details and panic recovery. The activity's
// context derives from sctx, which holds the attempt's span.
func (w *Worker) callActivity(sctx context.Context, m *streams.ActivityMessage, attempt int, fn any, details *attemptDetails) ([]byte, error) {
	t := m.Task
	opts := t.Options
	timeout, cause := opts.StartToClose, actrun.ErrStartToClose
	if timeout <= 0 {
		timeout = w.opts.ActivityTimeout
	}
	if opts.ScheduleToClose > 0 {
		left := time.Until(t.ScheduledAt.Add(opts.ScheduleToClose))
		if left <= 0 {
			return nil, actrun.TimeoutError(t.Name, actrun.ErrScheduleToClose, opts.ScheduleToClose)
		}
		if left < timeout {
			timeout, cause = left, actrun.ErrScheduleToClose
		}
	}
	ctx, cancel := context.WithTimeoutCause(sctx, timeout, cause)
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancel()
	defer cancelCause(nil)
	key := streams.ActivityCancel{InstanceID: t.InstanceID, ExecutionID: t.ExecutionID, ScheduleID: t.ScheduleID}
	ended, ok := w.cancels.start(key, cancelCause)
	if !ok {
		return nil, actrun.CanceledError(t.Name)
	}
	defer ended()

	var mu sync.Mutex
	lastBeat := time.Now()
	env := &actenv.Env{
		InstanceID:   t.InstanceID,
		ExecutionID:  t.ExecutionID,
		ActivityName: t.Name,
		ScheduleID:   t.ScheduleID,
		Attempt:      attempt,
		ScheduledAt:  t.ScheduledAt,
		Heartbeat: func(d ...any) {
			mu.Lock()
			lastBeat = time.Now()
			mu.Unlock()
			details.record(d)
		},
		LastDetails: details.previous,
		TaskToken:   streams.ActivityTokenOf(w.b.Namespace(), t),
	}
	env.Logger = env.TaggedLogger(w.log)
	if ids := activityLogAttrs(trace.SpanFromContext(sctx)); ids != nil {
		env.Logger = env.Logger.With(ids...)
	}
	// Keep the lease while the activity runs, and enforce the heartbeat
	// timeout.
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := w.b.AckWait() / 3
		if opts.Heartbeat > 0 {
			tick = min(tick, opts.Heartbeat/4)
		}
		tick = min(tick, detailsInterval)
		ticker := time.NewTicker(max(tick, 10*time.Millisecond))
		defer ticker.Stop()
		lastLease := time.Now()
		for {
			select {
			case <-done:
				return
			case <-details.kick:
				details.flush(false)
			case now := <-ticker.C:
				details.flush(false)
				if now.Sub(lastLease) >= w.b.AckWait()/3 {
					_ = m.InProgress()
					lastLease = now
				}
				mu.Lock()
				silent := now.Sub(lastBeat)
				mu.Unlock()
				if opts.Heartbeat > 0 && silent > opts.Heartbeat {
					cancelCause(actrun.ErrHeartbeat)
				}
			}
		}
	}()

	actx, err := workflow.ExtractHeader(actenv.With(ctx, env), w.opts.ContextPropagators, t.Header)
	if err != nil {
		return nil, workflow.NewPermanentError(fmt.Errorf("activity %s: context propagation: %w", t.Name, err))
	}
	result, err := actrun.Invoke(actx, fn, t.Args, w.conv)
	return result, actrun.Outcome(ctx, t.Name, actrun.Limits{StartToClose: timeout, ScheduleToClose: opts.ScheduleToClose, Heartbeat: opts.Heartbeat}, err)
}

// retryDelay says whether a failed attempt is retried, and after how long,
// under the task's retry policy.
func (w *Worker) retryDelay(attempt int, m *streams.ActivityMessage, err error) (time.Duration, bool) {
	return actrun.RetryDelay(m.Task.Options, attempt, time.Since(m.Task.ScheduledAt), err)
}

// Bounds of the retries of an activity's report (see reportOutcome).
const (
	// maxReportDelay caps the wait between two tries.
	maxReportDelay = 5 * time.Second
	// maxReportTime is how long a report is retried before the task is
	// handed back, and the activity runs again.
	maxReportTime = time.Hour
)

// finishActivity sends the outcome to the workflow's inbox, then acks, and
// reports whether it did. The activity has run: a send that fails is
// retried (see reportOutcome), not the activity.
func (w *Worker) finishActivity(m *streams.ActivityMessage, result []byte, failure *history.Failure, log interface{ Warn(string, ...any) }) bool {
	t := m.Task
	e := &history.Event{
		Kind:        history.ActivityCompleted,
		ScheduleID:  t.ScheduleID,
		Time:        time.Now().UTC(),
		InboxID:     streams.ActivityResultInboxID(t.InstanceID, t.ExecutionID, t.ScheduleID),
		ExecutionID: t.ExecutionID,
		Result:      result,
	}
	if failure != nil {
		e.Kind, e.Failure = history.ActivityFailed, failure
	}
	err := w.reportOutcome(m, e, log)
	switch {
	case errors.Is(err, streams.ErrInvalidName):
		// The task names a workflow queue or instance no message can be
		// addressed to: no retry helps.
		w.deadLetter(streams.DeadActivity, &m.TaskMessage, "activity task whose outcome cannot be addressed", err)
		return true
	case err != nil:
		log.Warn("reporting the activity's outcome failed; it will run again", logkey.Err, err)
		_ = m.NakWithDelay(w.opts.TaskRetryDelay)
		return false
	}
	_ = m.Ack()
	return true
}

// reportOutcome publishes an activity's outcome event to its workflow's
// inbox. A publish that fails is tried again with a growing delay (from
// TaskRetryDelay, at most maxReportDelay) while the task's lease is kept:
// every try has the same message ID, so a publish that was stored although
// its answer was lost is stored once. It gives up when the worker stops or
// after maxReportTime, and at once on an invalid name or an outcome still
// too large after cutting.
func (w *Worker) reportOutcome(m *streams.ActivityMessage, e *history.Event, log interface{ Warn(string, ...any) }) error {
	t := m.Task
	start := time.Now()
	delay := w.opts.TaskRetryDelay
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.b.PublishEvent(ctx, t.WorkflowQueue, t.InstanceID, e)
		if errors.Is(err, streams.ErrPayloadTooLarge) {
			// The outcome itself must reach the workflow; running the
			// activity again would not make it smaller.
			if e.Kind == history.ActivityCompleted {
				e.Kind, e.Result = history.ActivityFailed, nil
				e.Failure = &history.Failure{Type: workflow.ErrTypePayloadTooLarge, Message: fmt.Sprintf("activity %s: result too large: %v", t.Name, err), NonRetryable: true}
			} else {
				e.Failure = e.Failure.Cut()
			}
			err = w.b.PublishEvent(ctx, t.WorkflowQueue, t.InstanceID, e)
		}
		cancel()
		if err == nil || errors.Is(err, streams.ErrInvalidName) || errors.Is(err, streams.ErrPayloadTooLarge) ||
			w.isStopping() || time.Since(start) > maxReportTime {
			return err
		}
		// Keep the lease: the activity has run, and another worker must
		// not run it again while the report waits.
		_ = m.InProgress()
		log.Warn("reporting the activity's outcome failed; retrying the report", logkey.Err, err, "try", try, logkey.RetryIn, delay)
		select {
		case <-time.After(delay):
		case <-w.stopping:
		}
		delay = min(2*delay, maxReportDelay)
	}
}

// isStopping reports whether the worker is stopping.
func (w *Worker) isStopping() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}
