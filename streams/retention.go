package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/internal/logkey"
)

// WithRetention removes a finished instance (every run's history and its
// registry entry) d after its run finishes for good: completed, failed,
// canceled or terminated, not continued as new. 0, the default, keeps
// finished instances for ever; a negative d is an error.
//
// Nothing scans the namespace: the worker that records a run's end arms
// one JetStream message schedule for the instance, and when it fires a
// worker removes the instance if it is still that finished run. It is a
// worker setting: workers publish and serve the schedules.
func WithRetention(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("streams: retention must not be negative, got %s", d)
		}
		o.retention = d
		return nil
	}
}

// Retention is how long finished instances are kept (WithRetention; 0 is
// for ever).
func (b *Backend) Retention() time.Duration { return b.opts.retention }

// Expiry is the body of a retention schedule and of the message it fires:
// which run of which instance finished when.
type Expiry struct {
	InstanceID  string    `json:"instance"`
	ExecutionID string    `json:"run"`
	FinishedAt  time.Time `json:"finished"`
	Due         time.Time `json:"due"`
}

// ScheduleRemoval arms the removal of an instance whose run finished at
// finished: a message schedule on wft.<ns>.r.<inst> that fires, at
// finished + Retention(), an Expiry on wft.<ns>.x.<inst>. Without
// retention it does nothing.
//
// It is idempotent, so the worker publishes it as a side effect of the
// final commit and republishes it when it recovers that commit's effects:
// the message ID (the run's) drops a repeat within the duplicate window,
// and the subject holds one schedule per instance, so a later repeat, or
// the schedule of a later run of the same ID, replaces it.
func (b *Backend) ScheduleRemoval(ctx context.Context, instanceID, executionID string, finished time.Time) error {
	d := b.opts.retention
	if d <= 0 {
		return nil
	}
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	if err := CheckExecutionID(executionID); err != nil {
		return err
	}
	finished = finished.UTC()
	exp := Expiry{InstanceID: instanceID, ExecutionID: executionID, FinishedAt: finished, Due: finished.Add(d)}
	data, err := json.Marshal(exp)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: b.n.removal(inst), Data: data, Header: nats.Header{}}
	msg.Header.Set(hdrSchedule, "@at "+exp.Due.Format(time.RFC3339Nano))
	msg.Header.Set(hdrScheduleTarget, b.n.expiry(inst))
	msg.Header.Set(jetstream.MsgIDHeader, "r:"+inst+":"+executionID)
	if _, err := b.publish(ctx, msg); err != nil {
		return fmt.Errorf("streams: schedule the removal of %q: %w", instanceID, err)
	}
	return nil
}

// RemoveExpired removes the instance of a fired retention schedule if its
// registry entry is still the finished run exp names; an instance removed
// already, or restarted under the same ID since, is left alone (nil).
// removed says whether this call removed it.
func (b *Backend) RemoveExpired(ctx context.Context, exp Expiry) (removed bool, err error) {
	rec, err := b.GetInstance(ctx, exp.InstanceID)
	switch {
	case errors.Is(err, ErrInstanceNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	if rec.ExecutionID != exp.ExecutionID || !rec.Status.Finished() || rec.Status == StatusContinuedAsNew {
		return false, nil // restarted or continued since: not this expiry's to remove
	}
	err = b.RemoveInstance(ctx, rec, nil)
	if errors.Is(err, ErrRevisionConflict) {
		return false, nil // restarted while being removed: its new run stays
	}
	return err == nil, err
}

// retentionParallel bounds the removals one ServeRetention runs at once.
const retentionParallel = 32

// ServeRetention removes the instances whose retention schedules fire,
// until ctx ends. Several processes may serve at once: they share one
// durable consumer. A fire that cannot be read is dead-lettered
// (DeadRetention); a removal that fails is retried after retryDelay.
// onRemoved, if not nil, is told of each instance removed.
func (b *Backend) ServeRetention(ctx context.Context, retryDelay time.Duration, onRemoved func(Expiry)) error {
	c, err := b.ensureConsumer(ctx, b.tasks, b.n.retentionConsumer(), b.n.expiries(), "retention removals")
	if err != nil {
		return err
	}
	slots := make(chan struct{}, retentionParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		msgs, err := fetch(ctx, c, retentionParallel, 5*time.Second)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
				b.log.Warn("fetching retention removals failed", logkey.Err, err)
				sleepCtx(ctx, retryDelay)
			}
			continue
		}
		for _, m := range msgs {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				_ = m.Nak()
				continue
			}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				b.expire(ctx, m, retryDelay, onRemoved)
			}()
		}
	}
	return nil
}

// expire handles one fired retention schedule.
func (b *Backend) expire(ctx context.Context, m jetstream.Msg, retryDelay time.Duration, onRemoved func(Expiry)) {
	var exp Expiry
	if err := json.Unmarshal(m.Data(), &exp); err != nil || exp.InstanceID == "" {
		if err == nil {
			err = errors.New("no instance ID")
		}
		tm := newTaskMessage(m)
		dctx, cancel := context.WithTimeout(context.Background(), b.opts.requestTimeout)
		defer cancel()
		if derr := b.DeadLetter(dctx, DeadRetention, &tm, "undecodable retention removal", err); derr != nil {
			b.log.Error("dead-lettering a retention removal failed; it will be redelivered", logkey.Subject, m.Subject(), logkey.Err, derr)
			_ = m.NakWithDelay(retryDelay)
		}
		return
	}
	removed, err := b.RemoveExpired(ctx, exp)
	if err != nil {
		b.log.Warn("removing an expired instance failed; retrying", logkey.Instance, exp.InstanceID, logkey.Err, err)
		_ = m.NakWithDelay(retryDelay)
		return
	}
	if removed {
		b.log.Debug("removed an expired instance", logkey.Instance, exp.InstanceID, logkey.Execution, exp.ExecutionID)
		if onRemoved != nil {
			onRemoved(exp)
		}
	}
	_ = m.Ack()
}

// sleepCtx waits d and reports whether it waited it all before ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
