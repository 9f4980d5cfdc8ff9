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
	"github.com/nats-io/nuid"

	"github.com/jetflow/jetflow/internal/logkey"
)

// WithRetention removes a finished instance (every run's history and its
// registry entry) d after its run finishes for good: completed, failed,
// canceled or terminated, not continued as new. 0, the default, keeps
// finished instances for ever; a negative d is an error.
//
// Nothing scans the namespace: the worker that records a run's end arms a
// JetStream message schedule for the instance (shared with the other
// instances that finished at the same moment), and when it fires a worker
// removes each instance that is still that finished run. It is a worker
// setting: workers publish and serve the schedules.
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

// Expiry is one removal a retention schedule carries: which run of which
// instance finished when, and when it is due.
type Expiry struct {
	InstanceID  string    `json:"instance"`
	ExecutionID string    `json:"run"`
	FinishedAt  time.Time `json:"finished"`
	Due         time.Time `json:"due"`
}

// expiryBatch is the body of a retention schedule and of the message it
// fires. Schedules armed before batches carried one Expiry as the body.
type expiryBatch struct {
	Expiries []Expiry `json:"expiries"`
}

// removalBatchMax bounds the removals one schedule carries.
const removalBatchMax = 256

// removalQueue gathers the removals armed while a schedule is being
// published, to arm them together in the next: a schedule, its fire and
// their acknowledgements are then shared by every instance that finished
// meanwhile instead of paid by each.
type removalQueue struct {
	mu      sync.Mutex
	pending []*armRequest
	busy    bool // a goroutine is publishing the queue

	// beforePublish, for tests, runs before each batch is taken.
	beforePublish func()
}

// armRequest is one queued removal and where its publish's outcome goes.
type armRequest struct {
	exp  Expiry
	done chan error
}

// ScheduleRemoval arms the removal of an instance whose run finished at
// finished, at finished + Retention(), and returns once a schedule that
// carries it is stored. Without retention it does nothing.
//
// Removals armed at the same time share one message schedule, on
// wft.<ns>.r.<batch>, due when the last of them is, which fires an
// expiryBatch on wft.<ns>.x.<batch>. Arming is idempotent, so the worker
// publishes it as a side effect of the final commit and again when it
// recovers that commit's effects: a repeat fires a removal that finds the
// instance gone (or a later run of the ID, which it leaves alone).
func (b *Backend) ScheduleRemoval(ctx context.Context, instanceID, executionID string, finished time.Time) error {
	d := b.opts.retention
	if d <= 0 {
		return nil
	}
	if _, err := EncodeInstanceID(instanceID); err != nil {
		return err
	}
	if err := CheckExecutionID(executionID); err != nil {
		return err
	}
	finished = finished.UTC()
	req := &armRequest{
		exp:  Expiry{InstanceID: instanceID, ExecutionID: executionID, FinishedAt: finished, Due: finished.Add(d)},
		done: make(chan error, 1),
	}
	q := &b.removals
	q.mu.Lock()
	q.pending = append(q.pending, req)
	if !q.busy {
		q.busy = true
		go b.publishRemovals()
	}
	q.mu.Unlock()
	select {
	case err := <-req.done:
		if err != nil {
			return fmt.Errorf("streams: schedule the removal of %q: %w", instanceID, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("streams: schedule the removal of %q: %w", instanceID, ctx.Err())
	}
}

// publishRemovals publishes the queued removals, a batch at a time, until
// the queue is empty.
func (b *Backend) publishRemovals() {
	q := &b.removals
	for {
		if q.beforePublish != nil {
			q.beforePublish()
		}
		q.mu.Lock()
		n := min(len(q.pending), removalBatchMax)
		if n == 0 {
			q.busy = false
			q.mu.Unlock()
			return
		}
		batch := q.pending[:n:n]
		q.pending = q.pending[n:]
		q.mu.Unlock()
		err := b.publishRemovalBatch(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// publishRemovalBatch stores one schedule carrying the batch's removals,
// due when the last of them is.
func (b *Backend) publishRemovalBatch(batch []*armRequest) error {
	body := expiryBatch{Expiries: make([]Expiry, len(batch))}
	var due time.Time
	for i, r := range batch {
		body.Expiries[i] = r.exp
		if r.exp.Due.After(due) {
			due = r.exp.Due
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	token := nuid.Next()
	msg := &nats.Msg{Subject: b.n.removal(token), Data: data, Header: nats.Header{}}
	msg.Header.Set(hdrSchedule, "@at "+due.Format(time.RFC3339Nano))
	msg.Header.Set(hdrScheduleTarget, b.n.expiry(token))
	msg.Header.Set(jetstream.MsgIDHeader, "r:"+token) // a resend is dropped
	// Its own deadline, not a caller's: the batch is every caller's.
	ctx, cancel := context.WithTimeout(context.Background(), 2*b.opts.requestTimeout)
	defer cancel()
	_, err = b.publish(ctx, msg)
	return err
}

// decodeExpiries reads the removals of a fired retention schedule: an
// expiryBatch, or one Expiry as schedules armed before batches carried.
func decodeExpiries(data []byte) ([]Expiry, error) {
	var batch struct {
		Expiries *[]Expiry `json:"expiries"`
		Expiry
	}
	if err := json.Unmarshal(data, &batch); err != nil {
		return nil, err
	}
	exps := []Expiry{batch.Expiry}
	if batch.Expiries != nil {
		exps = *batch.Expiries
	}
	for _, e := range exps {
		if e.InstanceID == "" {
			return nil, errors.New("a removal without an instance ID")
		}
	}
	return exps, nil
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

// retentionParallel bounds the removals one ServeRetention runs at once,
// and the fired schedules it holds.
const retentionParallel = 32

// ServeRetention removes the instances whose retention schedules fire,
// until ctx ends. Several processes may serve at once: they share one
// durable consumer. A fire that cannot be read is dead-lettered
// (DeadRetention); one whose removals do not all succeed is handed back,
// after retryDelay, and its removals tried again (one done already finds
// its instance gone). onRemoved, if not nil, is told of each instance
// removed.
func (b *Backend) ServeRetention(ctx context.Context, retryDelay time.Duration, onRemoved func(Expiry)) error {
	c, err := b.ensureConsumer(ctx, b.tasks, b.n.retentionConsumer(), b.n.expiries(), "retention removals")
	if err != nil {
		return err
	}
	fires := make(chan struct{}, retentionParallel)
	removals := make(chan struct{}, retentionParallel)
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
			case fires <- struct{}{}:
			case <-ctx.Done():
				_ = m.Nak()
				continue
			}
			wg.Add(1)
			go func() {
				defer func() { <-fires; wg.Done() }()
				b.expire(ctx, m, removals, retryDelay, onRemoved)
			}()
		}
	}
	return nil
}

// expire handles one fired retention schedule: its removals run at once,
// each holding a slot of removals.
func (b *Backend) expire(ctx context.Context, m jetstream.Msg, removals chan struct{}, retryDelay time.Duration, onRemoved func(Expiry)) {
	exps, err := decodeExpiries(m.Data())
	if err != nil {
		tm := newTaskMessage(m)
		dctx, cancel := context.WithTimeout(context.Background(), b.opts.requestTimeout)
		defer cancel()
		if derr := b.DeadLetter(dctx, DeadRetention, &tm, "undecodable retention removal", err); derr != nil {
			b.log.Error("dead-lettering a retention removal failed; it will be redelivered", logkey.Subject, m.Subject(), logkey.Err, derr)
			_ = m.NakWithDelay(retryDelay)
		}
		return
	}
	// A batch may take longer than the ack wait on a busy server: say
	// it is being worked on, so it is not handed to another worker too.
	stopMarking := b.markInProgress(m)
	errs := make([]error, len(exps))
	var wg sync.WaitGroup
	for i, exp := range exps {
		select {
		case removals <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			stopMarking()
			_ = m.Nak()
			return
		}
		wg.Go(func() {
			defer func() { <-removals }()
			removed, err := b.RemoveExpired(ctx, exp)
			if err != nil {
				b.log.Warn("removing an expired instance failed; retrying", logkey.Instance, exp.InstanceID, logkey.Err, err)
				errs[i] = err
				return
			}
			if removed {
				b.log.Debug("removed an expired instance", logkey.Instance, exp.InstanceID, logkey.Execution, exp.ExecutionID)
				if onRemoved != nil {
					onRemoved(exp)
				}
			}
		})
	}
	wg.Wait()
	stopMarking()
	if errors.Join(errs...) != nil {
		_ = m.NakWithDelay(retryDelay)
		return
	}
	_ = m.Ack()
}

// markInProgress tells the server every half ack wait that m is being
// worked on, until the stop it returns is called.
func (b *Backend) markInProgress(m jetstream.Msg) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(max(b.opts.ackWait/2, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				_ = m.InProgress()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-stopped }
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
