package worker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// Errors an activity attempt can end with besides its own.
var (
	errStartToClose    = errors.New("start-to-close timeout")
	errScheduleToClose = errors.New("schedule-to-close timeout")
	errHeartbeat       = errors.New("heartbeat timeout")
)

// FailureTimeout is the Failure type of an activity that ran out of time.
const FailureTimeout = "Timeout"

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
		msgs, err := aq.Fetch(ctx, min(free, w.opts.FetchBatch), w.opts.PollWait)
		<-slots
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("fetching activity tasks failed", "queue", queue, "err", err)
				sleep(ctx, w.opts.TaskRetryDelay)
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
	log := w.log.With("instance", t.InstanceID, "run", t.ExecutionID, "activity", t.Name, "attempt", m.Attempt())
	fn, ok := w.reg.activity(t.Name)
	if !ok {
		if wait := w.opts.UnknownNameTimeout - time.Since(t.ScheduledAt); wait > 0 {
			_ = m.NakWithDelay(min(wait, time.Second))
			return
		}
		w.finishActivity(m, nil, &history.Failure{
			Type:         "UnknownActivity",
			Message:      fmt.Sprintf("no worker of queue %q has activity %q registered", t.Queue, t.Name),
			NonRetryable: true,
		}, log)
		return
	}

	result, err := w.callActivity(m, fn, log)
	if err == nil {
		w.finishActivity(m, result, nil, log)
		return
	}
	if delay, retry := w.retryDelay(m, err); retry {
		log.Info("activity attempt failed; retrying", "err", err, "retry_in", delay)
		_ = m.NakWithDelay(delay)
		return
	}
	log.Warn("activity failed", "err", err)
	w.finishActivity(m, nil, engine.FailureFromError(err), log)
}

// callActivity runs the activity function with its deadline, lease keeping,
// heartbeat timeout and panic recovery.
func (w *Worker) callActivity(m *streams.ActivityMessage, fn any, log interface{ Debug(string, ...any) }) ([]byte, error) {
	t := m.Task
	opts := t.Options
	timeout, cause := opts.StartToClose, errStartToClose
	if timeout <= 0 {
		timeout = w.opts.ActivityTimeout
	}
	if opts.ScheduleToClose > 0 {
		left := time.Until(t.ScheduledAt.Add(opts.ScheduleToClose))
		if left <= 0 {
			return nil, timeoutError(t.Name, errScheduleToClose, opts.ScheduleToClose)
		}
		if left < timeout {
			timeout, cause = left, errScheduleToClose
		}
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, cause)
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancel()
	defer cancelCause(nil)
	key := streams.ActivityCancel{InstanceID: t.InstanceID, ExecutionID: t.ExecutionID, ScheduleID: t.ScheduleID}
	ended, ok := w.cancels.start(key, cancelCause)
	if !ok {
		return nil, canceledError(t.Name)
	}
	defer ended()

	var mu sync.Mutex
	lastBeat := time.Now()
	env := &actenv.Env{
		InstanceID:   t.InstanceID,
		ExecutionID:  t.ExecutionID,
		ActivityName: t.Name,
		ScheduleID:   t.ScheduleID,
		Attempt:      m.Attempt(),
		ScheduledAt:  t.ScheduledAt,
		Logger:       w.log.With("instance", t.InstanceID, "activity", t.Name, "attempt", m.Attempt()),
		Heartbeat: func(...any) {
			mu.Lock()
			lastBeat = time.Now()
			mu.Unlock()
		},
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
		ticker := time.NewTicker(max(tick, 10*time.Millisecond))
		defer ticker.Stop()
		lastLease := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				if now.Sub(lastLease) >= w.b.AckWait()/3 {
					_ = m.InProgress()
					lastLease = now
				}
				mu.Lock()
				silent := now.Sub(lastBeat)
				mu.Unlock()
				if opts.Heartbeat > 0 && silent > opts.Heartbeat {
					cancelCause(errHeartbeat)
				}
			}
		}
	}()

	result, err := invoke(actenv.With(ctx, env), fn, t.Args, w.opts.Converter)
	if err != nil && ctx.Err() != nil {
		switch c := context.Cause(ctx); {
		case errors.Is(c, errStartToClose):
			return nil, timeoutError(t.Name, c, timeout)
		case errors.Is(c, errScheduleToClose):
			return nil, timeoutError(t.Name, c, opts.ScheduleToClose)
		case errors.Is(c, errHeartbeat):
			return nil, timeoutError(t.Name, c, opts.Heartbeat)
		case errors.Is(c, errCanceledByWorkflow):
			return nil, canceledError(t.Name)
		}
	}
	return result, err
}

// canceledError is the final outcome of an activity its workflow canceled:
// a workflow that waits for the cancellation sees workflow.Canceled.
func canceledError(name string) error {
	return workflow.NewPermanentError(fmt.Errorf("activity %s %w: %w", name, errCanceledByWorkflow, workflow.Canceled))
}

func timeoutError(name string, cause error, d time.Duration) error {
	err := workflow.NewError(FailureTimeout, fmt.Sprintf("activity %s: %v of %s exceeded", name, cause, d))
	if errors.Is(cause, errScheduleToClose) {
		return workflow.NewPermanentError(err)
	}
	return err
}

// invoke decodes the arguments, calls fn, and encodes its result. A panic
// becomes a *workflow.PanicError with the stack.
func invoke(ctx context.Context, fn any, args [][]byte, conv engine.Converter) (result []byte, err error) {
	in, err := engine.DecodeArgs(fn, args, conv)
	if err != nil {
		return nil, workflow.NewPermanentError(err)
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, &workflow.PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	out := reflect.ValueOf(fn).Call(append([]reflect.Value{reflect.ValueOf(ctx)}, in...))
	if e := out[len(out)-1]; !e.IsNil() {
		return nil, e.Interface().(error)
	}
	if len(out) == 1 {
		return nil, nil
	}
	b, err := conv.Encode(out[0].Interface())
	if err != nil {
		return nil, workflow.NewPermanentError(fmt.Errorf("encode result: %w", err))
	}
	return b, nil
}

// retryDelay says whether a failed attempt is retried, and after how long,
// under the task's retry policy.
func (w *Worker) retryDelay(m *streams.ActivityMessage, err error) (time.Duration, bool) {
	if engine.IsPermanent(err) {
		return 0, false
	}
	p := m.Task.Options
	attempt := m.Attempt()
	if attempt >= max(p.MaxAttempts, 1) {
		return 0, false
	}
	delay := p.FirstRetryInterval
	if delay <= 0 {
		delay = time.Second
	}
	coef := p.BackoffCoefficient
	if coef < 1 {
		coef = 1
	}
	delay = time.Duration(float64(delay) * math.Pow(coef, float64(attempt-1)))
	if p.MaxRetryInterval > 0 && delay > p.MaxRetryInterval {
		delay = p.MaxRetryInterval
	}
	since := time.Since(m.Task.ScheduledAt)
	if p.RetryTimeout > 0 && since+delay > p.RetryTimeout {
		return 0, false
	}
	if p.ScheduleToClose > 0 && since+delay > p.ScheduleToClose {
		return 0, false
	}
	return delay, true
}

// finishActivity sends the outcome to the workflow's inbox, then acks. If
// the send fails, the task goes back to the queue and runs again later:
// activities are at-least-once.
func (w *Worker) finishActivity(m *streams.ActivityMessage, result []byte, failure *history.Failure, log interface{ Warn(string, ...any) }) {
	t := m.Task
	e := &history.Event{
		Kind:        history.ActivityCompleted,
		ScheduleID:  t.ScheduleID,
		Time:        time.Now().UTC(),
		InboxID:     eventKey("act", t.InstanceID, t.ExecutionID, t.ScheduleID),
		ExecutionID: t.ExecutionID,
		Result:      result,
	}
	if failure != nil {
		e.Kind, e.Failure = history.ActivityFailed, failure
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.b.PublishEvent(ctx, t.WorkflowQueue, t.InstanceID, e)
	if errors.Is(err, streams.ErrPayloadTooLarge) {
		// The outcome itself must reach the workflow; running the
		// activity again would not make it smaller.
		if failure == nil {
			e.Kind, e.Result = history.ActivityFailed, nil
			e.Failure = &history.Failure{Type: engine.FailurePayloadTooLarge, Message: fmt.Sprintf("activity %s: result too large: %v", t.Name, err), NonRetryable: true}
		} else {
			e.Failure = cutFailure(failure)
		}
		err = w.b.PublishEvent(ctx, t.WorkflowQueue, t.InstanceID, e)
	}
	if err != nil {
		log.Warn("reporting the activity's outcome failed; it will run again", "err", err)
		_ = m.NakWithDelay(w.opts.TaskRetryDelay)
		return
	}
	_ = m.Ack()
}

// cut shortens s to at most n bytes (on a rune boundary), saying so.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " …[cut]"
	i := n - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}
