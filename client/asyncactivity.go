package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/streams"
)

// CompleteActivity completes an activity call that returned
// activity.ErrResultPending, with result (encoded by the backend's
// converter) as its result. token is the call's activity.Info.TaskToken.
// The first outcome of a call counts: completing it again, after a
// FailActivity, or after its timeout failed it, changes nothing.
func (c *Client) CompleteActivity(ctx context.Context, token []byte, result any) error {
	t, err := c.b.DecodeActivityToken(token)
	if err != nil {
		return fmt.Errorf("client: complete activity: %w", err)
	}
	var b []byte
	if result != nil {
		if b, err = c.conv.Encode(result); err != nil {
			return fmt.Errorf("client: complete activity %s of instance %q: encode result: %w", t.ActivityName, t.InstanceID, err)
		}
	}
	if err := c.b.PublishActivityOutcome(ctx, t, b, nil); err != nil {
		return fmt.Errorf("client: complete activity %s of instance %q: %w", t.ActivityName, t.InstanceID, err)
	}
	return nil
}

// FailActivity fails an activity call that returned
// activity.ErrResultPending with err, which reaches the workflow as an
// activity's error does (its message, and its type for workflow.NewError
// errors). The call is not retried: an asynchronous outcome is final.
func (c *Client) FailActivity(ctx context.Context, token []byte, cause error) error {
	t, err := c.b.DecodeActivityToken(token)
	if err != nil {
		return fmt.Errorf("client: fail activity: %w", err)
	}
	if cause == nil {
		return errors.New("client: fail activity: nil error")
	}
	f := engine.FailureFromError(cause)
	f.NonRetryable = true
	if err := c.b.PublishActivityOutcome(ctx, t, nil, f); err != nil {
		return fmt.Errorf("client: fail activity %s of instance %q: %w", t.ActivityName, t.InstanceID, err)
	}
	return nil
}

// ErrActivityNotPending is returned by RecordActivityHeartbeat for a call
// that no longer waits for its outcome: it was completed, failed or timed
// out. The outside system can stop its work.
var ErrActivityNotPending = streams.ErrActivityNotPending

// RecordActivityHeartbeat tells jetflow that the outside system working on
// an activity call left pending (activity.ErrResultPending) is still at
// it. A call whose ActivityOptions.HeartbeatTimeout is set fails with a
// final Timeout when that long passes without a heartbeat; each heartbeat
// moves that deadline (never the call's StartToClose or ScheduleToClose).
// It returns an error matching ErrActivityNotPending once the call has its
// outcome.
func (c *Client) RecordActivityHeartbeat(ctx context.Context, token []byte) error {
	t, err := c.b.DecodeActivityToken(token)
	if err != nil {
		return fmt.Errorf("client: record activity heartbeat: %w", err)
	}
	pending, err := c.b.ActivityPending(ctx, t)
	if err != nil {
		return fmt.Errorf("client: record activity heartbeat: %w", err)
	}
	if !pending {
		return fmt.Errorf("client: activity %s of instance %q: %w", t.ActivityName, t.InstanceID, ErrActivityNotPending)
	}
	if t.Heartbeat <= 0 {
		return nil // nothing to move
	}
	at := time.Now().Add(t.Heartbeat)
	if err := c.b.ScheduleActivityHeartbeatDeadline(ctx, t, at, actrun.AsyncTimeout(t.ActivityName, actrun.ErrHeartbeat, t.Heartbeat)); err != nil {
		return fmt.Errorf("client: record heartbeat of activity %s of instance %q: %w", t.ActivityName, t.InstanceID, err)
	}
	return nil
}
