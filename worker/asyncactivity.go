package worker

import (
	"context"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// leaveActivityPending ends the attempt of an activity that returned
// activity.ErrResultPending: an outside system completes it with its
// token (client.CompleteActivity). The task is acknowledged, and a
// message schedule fails the call with a Timeout when its timeouts pass
// first; the first outcome to reach the workflow counts (they share one
// message ID), so a late completion or a late deadline is ignored.
func (w *Worker) leaveActivityPending(m *streams.ActivityMessage, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	t := m.Task
	opts := t.Options
	timeout, cause := opts.StartToClose, actrun.ErrStartToClose
	if timeout <= 0 {
		timeout = w.opts.ActivityTimeout
	}
	at := time.Now().Add(timeout)
	if opts.ScheduleToClose > 0 {
		if end := t.ScheduledAt.Add(opts.ScheduleToClose); end.Before(at) {
			at, timeout, cause = end, opts.ScheduleToClose, actrun.ErrScheduleToClose
		}
	}
	f := &history.Failure{
		Type:         workflow.ErrTypeTimeout,
		Message:      actrun.TimeoutError(t.Name, cause, timeout).Error(),
		NonRetryable: true,
	}
	token, err := w.b.DecodeActivityToken(streams.ActivityTokenOf(w.b.Namespace(), t))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = w.b.ScheduleActivityDeadline(ctx, token, at, f)
		if hb := opts.Heartbeat; err == nil && hb > 0 && time.Now().Add(hb).Before(at) {
			// The outside system keeps the call alive with
			// client.RecordActivityHeartbeat, each moving this deadline.
			err = w.b.ScheduleActivityHeartbeatDeadline(ctx, token, time.Now().Add(hb), actrun.AsyncTimeout(t.Name, actrun.ErrHeartbeat, hb))
		}
		cancel()
	}
	if err != nil {
		// Without its deadline the call could wait for ever: run it again.
		log.Warn("scheduling the deadline of an activity left pending failed; it will run again", logkey.Err, err)
		_ = m.NakWithDelay(w.opts.TaskRetryDelay)
		return
	}
	log.Info("activity left pending for an asynchronous completion", "deadline", at)
	_ = m.Ack()
}
