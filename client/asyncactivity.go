package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetflow/jetflow/engine"
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
