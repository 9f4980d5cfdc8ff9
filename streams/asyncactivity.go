package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/history"
)

// ActivityToken names an activity call whose result an outside system
// gives later (asynchronous completion): where its result goes. It is
// JSON, readable by anyone who holds it; it carries no secret.
type ActivityToken struct {
	Namespace     string `json:"ns"`
	InstanceID    string `json:"i"`
	ExecutionID   string `json:"x"`
	ScheduleID    int64  `json:"s"`
	WorkflowQueue string `json:"q"`
	ActivityName  string `json:"n"`
	// Heartbeat is the call's heartbeat timeout (zero: none): the
	// longest an outside system may go between RecordActivityHeartbeat
	// calls.
	Heartbeat time.Duration `json:"h,omitempty"`
}

// ActivityTokenOf is the token of an activity task in namespace ns.
func ActivityTokenOf(ns string, t *ActivityTask) []byte {
	b, _ := json.Marshal(ActivityToken{Namespace: ns, InstanceID: t.InstanceID, ExecutionID: t.ExecutionID,
		ScheduleID: t.ScheduleID, WorkflowQueue: t.WorkflowQueue, ActivityName: t.Name, Heartbeat: t.Options.Heartbeat})
	return b
}

// ErrBadActivityToken is the error of a token that does not decode or
// belongs to another namespace.
var ErrBadActivityToken = errors.New("streams: bad activity token")

// DecodeActivityToken reads a token made by ActivityTokenOf for this
// backend's namespace.
func (b *Backend) DecodeActivityToken(token []byte) (*ActivityToken, error) {
	var t ActivityToken
	if err := json.Unmarshal(token, &t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadActivityToken, err)
	}
	if t.Namespace != b.n.ns {
		return nil, fmt.Errorf("%w: it is of namespace %q, not %q", ErrBadActivityToken, t.Namespace, b.n.ns)
	}
	if err := CheckExecutionID(t.ExecutionID); err != nil || t.ScheduleID <= 0 || t.InstanceID == "" || t.WorkflowQueue == "" {
		return nil, fmt.Errorf("%w: it names no activity call", ErrBadActivityToken)
	}
	return &t, nil
}

// PublishActivityOutcome puts the result (or failure f) of the activity
// call t names in its workflow's inbox, and drops the deadline its worker
// scheduled. The event's message ID is the one every outcome of that call
// has, so the first outcome counts and later ones are ignored.
func (b *Backend) PublishActivityOutcome(ctx context.Context, t *ActivityToken, result []byte, f *history.Failure) error {
	e := b.activityOutcome(t, result, f)
	if err := b.PublishEvent(ctx, t.WorkflowQueue, t.InstanceID, e); err != nil {
		return err
	}
	inst, err := EncodeInstanceID(t.InstanceID)
	if err != nil {
		return err
	}
	pctx, cancel := b.bounded(ctx)
	defer cancel()
	// Best effort: a late deadline is ignored. The final deadline's
	// schedule is rolled up into a marker that tells heartbeats the call
	// is done (ActivityPending); the run's end purges it with its timers.
	done := nats.NewMsg(b.n.activityDeadline(inst, t.ExecutionID, t.ScheduleID))
	done.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	done.Header.Set(hdrActivityDone, "1")
	_, _ = b.publish(pctx, done)
	if t.Heartbeat > 0 {
		_ = b.tasks.Purge(pctx, jetstream.WithPurgeSubject(b.n.activityHeartbeatDeadline(inst, t.ExecutionID, t.ScheduleID)))
	}
	return nil
}

// ScheduleActivityDeadline arranges for a Timeout failure of the pending
// activity call t names to reach its workflow at time at, unless an
// outcome came first (then it is ignored).
func (b *Backend) ScheduleActivityDeadline(ctx context.Context, t *ActivityToken, at time.Time, f *history.Failure) error {
	e := b.activityOutcome(t, nil, f)
	return b.publishAt(ctx, t.WorkflowQueue, t.InstanceID, e, at, func(inst, run string) string {
		return b.n.activityDeadline(inst, run, t.ScheduleID)
	})
}

// ErrActivityNotPending is the error of a heartbeat for an asynchronous
// activity call that is no longer waiting: it was completed, failed or
// timed out.
var ErrActivityNotPending = errors.New("streams: activity call is not pending")

// ScheduleActivityHeartbeatDeadline arranges for a Timeout failure f of
// the pending call t names to reach its workflow at time at unless a
// heartbeat moves it (MoveActivityHeartbeatDeadline) or an outcome comes
// first. Its schedule is separate from the call's final deadline, which
// heartbeats never move.
func (b *Backend) ScheduleActivityHeartbeatDeadline(ctx context.Context, t *ActivityToken, at time.Time, f *history.Failure) error {
	e := b.activityOutcome(t, nil, f)
	id := fmt.Sprintf("s:%s:h%d", e.InboxID, at.UnixNano())
	return b.publishAtWithID(ctx, t.WorkflowQueue, t.InstanceID, e, at, func(inst, run string) string {
		return b.n.activityHeartbeatDeadline(inst, run, t.ScheduleID)
	}, id)
}

// hdrActivityDone marks the message that replaces the final deadline of an
// asynchronous call once its outcome is published.
const hdrActivityDone = "Jetflow-Activity-Done"

// ActivityPending reports whether the asynchronous call t names may still
// be waiting for its outcome: false once an outcome was published through
// PublishActivityOutcome. A call whose deadline fired, or one not yet
// left pending by its worker, reads as pending.
func (b *Backend) ActivityPending(ctx context.Context, t *ActivityToken) (bool, error) {
	inst, err := EncodeInstanceID(t.InstanceID)
	if err != nil {
		return false, err
	}
	gctx, cancel := b.bounded(ctx)
	defer cancel()
	m, err := b.tasks.GetLastMsgForSubject(gctx, b.n.activityDeadline(inst, t.ExecutionID, t.ScheduleID))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("streams: is activity %s of %q pending: %w", t.ActivityName, t.InstanceID, err)
	}
	return m.Header.Get(hdrActivityDone) == "", nil
}

func (b *Backend) activityOutcome(t *ActivityToken, result []byte, f *history.Failure) *history.Event {
	e := &history.Event{
		Kind:        history.ActivityCompleted,
		ScheduleID:  t.ScheduleID,
		Time:        time.Now().UTC(),
		InboxID:     ActivityResultInboxID(t.InstanceID, t.ExecutionID, t.ScheduleID),
		ExecutionID: t.ExecutionID,
		Result:      result,
	}
	if f != nil {
		e.Kind, e.Result, e.Failure = history.ActivityFailed, nil, f
	}
	return e
}
