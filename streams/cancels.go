package streams

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/nats-io/nats.go"
)

// ActivityCancel names an activity whose workflow canceled it: the run and
// the event that scheduled it.
type ActivityCancel struct {
	InstanceID  string
	ExecutionID string
	ScheduleID  int64
}

// PublishActivityCancel asks whichever worker runs the activity to cancel
// its context. It is core NATS, sent after the cancel is committed: a
// worker that misses it lets the activity run to its end, and the
// workflow, which no longer waits for it, ignores the result.
func (b *Backend) PublishActivityCancel(c ActivityCancel) error {
	inst, err := EncodeInstanceID(c.InstanceID)
	if err != nil {
		return err
	}
	if err := CheckExecutionID(c.ExecutionID); err != nil {
		return err
	}
	if err := b.nc.Publish(b.n.activityCancel(inst, c.ExecutionID, c.ScheduleID), nil); err != nil {
		return fmt.Errorf("streams: publish activity cancel of %q: %w", c.InstanceID, err)
	}
	return nil
}

// SubscribeActivityCancels calls fn with every activity cancel of the
// namespace, from the subscription's goroutine, until unsubscribe is
// called. Cancels on malformed subjects are logged and dropped.
func (b *Backend) SubscribeActivityCancels(fn func(ActivityCancel)) (unsubscribe func() error, err error) {
	sub, err := b.nc.Subscribe("wfc."+b.n.ns+".>", func(m *nats.Msg) {
		c, err := b.n.parseActivityCancel(m.Subject)
		if err != nil {
			b.log.Warn("dropped a malformed activity cancel", logkey.Subject, m.Subject, logkey.Err, err)
			return
		}
		fn(c)
	})
	if err != nil {
		return nil, fmt.Errorf("streams: subscribe to activity cancels: %w", err)
	}
	if err := b.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("streams: subscribe to activity cancels: %w", err)
	}
	return sub.Unsubscribe, nil
}

// parseActivityCancel reads wfc.<ns>.<inst>.<run>.<event>.
func (n names) parseActivityCancel(subject string) (ActivityCancel, error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[0] != "wfc" || parts[1] != n.ns {
		return ActivityCancel{}, fmt.Errorf("not an activity cancel subject")
	}
	inst, err := DecodeToken(parts[2])
	if err != nil {
		return ActivityCancel{}, err
	}
	id, err := strconv.ParseInt(parts[4], 10, 64)
	if err != nil || id <= 0 {
		return ActivityCancel{}, fmt.Errorf("bad event ID %q", parts[4])
	}
	return ActivityCancel{InstanceID: inst, ExecutionID: parts[3], ScheduleID: id}, nil
}
