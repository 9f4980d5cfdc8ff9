// Package activity is the API an activity author uses: the activity's
// logger, its attempt number and other facts about the call, and
// heartbeats for long-running activities.
//
// A heartbeat can carry details (progress: the last item done, an
// offset). The worker keeps the latest details of an attempt, so that the
// next attempt, on any worker and also after the worker running this one
// died, can resume from them with HeartbeatDetails:
//
//	func Import(ctx context.Context, file string) error {
//		from, _ := activity.HeartbeatDetails[int](ctx) // 0 on the first attempt
//		for i := from; i < lines; i++ {
//			// … import line i …
//			activity.RecordHeartbeat(ctx, i+1)
//		}
//		return nil
//	}
//
// Details are stored at most every two seconds while the attempt runs
// (the last ones recorded when it fails are always stored), encoded with
// the backend's converter, and removed when the activity ends. Details
// recorded less than two seconds before a crash may be lost; details not
// read within a week of their last write expire.
//
// An activity is a plain function, func(ctx context.Context, args...) error
// or (T, error), registered with a worker. The worker runs it with a ctx
// that this package reads; outside an activity the functions here return
// zero values (and a logger that discards), so activity code can be unit
// tested with any context.
package activity

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/jetflow/jetflow/internal/actenv"
)

// Info describes the running activity call.
type Info struct {
	// InstanceID and ExecutionID name the workflow run that called it.
	InstanceID  string
	ExecutionID string
	// ActivityName is the name the activity is registered under.
	ActivityName string
	// ScheduleID is the ID of the event that scheduled the call.
	ScheduleID int64
	// Attempt is 1 on the first try and grows with each retry.
	Attempt int
	// ScheduledAt is when the workflow scheduled the call.
	ScheduledAt time.Time
	// TaskToken names this call for an outside system that completes it
	// later through client.CompleteActivity or client.FailActivity,
	// after the activity returned ErrResultPending.
	TaskToken []byte
	// IsLocalActivity says the call is a local activity
	// (workflow.ExecuteLocalActivity): it runs inside its workflow's
	// task, so ScheduleID and TaskToken are zero, heartbeats do nothing,
	// and it cannot complete asynchronously.
	IsLocalActivity bool
}

// ErrResultPending, returned by an activity, says the call is not over:
// an outside system completes it later with the activity's task token
// (GetInfo(ctx).TaskToken) through client.CompleteActivity or
// client.FailActivity. The worker then takes the next task; the call
// stays bounded by its StartToCloseTimeout (or the worker's default
// activity timeout) and ScheduleToCloseTimeout, counted as for a running
// attempt: when the outcome has not come by then, the workflow gets a
// Timeout error (not retried).
var ErrResultPending = actenv.ErrResultPending

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Logger returns a logger tagged with the workflow instance, run, activity
// name and attempt (the attributes instance_id, execution_id, activity and
// attempt).
func Logger(ctx context.Context) *slog.Logger {
	if env := actenv.From(ctx); env != nil && env.Logger != nil {
		return env.Logger
	}
	return discard
}

// Attempt is the number of this try of the activity: 1 on the first.
func Attempt(ctx context.Context) int {
	if env := actenv.From(ctx); env != nil {
		return env.Attempt
	}
	return 0
}

// GetInfo describes the running activity call.
func GetInfo(ctx context.Context) Info {
	env := actenv.From(ctx)
	if env == nil {
		return Info{}
	}
	return Info{
		InstanceID:   env.InstanceID,
		ExecutionID:  env.ExecutionID,
		ActivityName: env.ActivityName,
		ScheduleID:   env.ScheduleID,
		Attempt:      env.Attempt,
		ScheduledAt:  env.ScheduledAt,
		TaskToken:    env.TaskToken,

		IsLocalActivity: env.Local,
	}
}

// RecordHeartbeat tells the worker the activity is alive and making
// progress: it keeps the task's lease, so no other worker takes it over,
// and restarts the HeartbeatTimeout clock. Call it more often than the
// activity's HeartbeatTimeout. Details, when given, replace those
// recorded before; the next attempt reads the first with
// HeartbeatDetails. A heartbeat without details keeps the last ones.
func RecordHeartbeat(ctx context.Context, details ...any) {
	if env := actenv.From(ctx); env != nil && env.Heartbeat != nil {
		env.Heartbeat(details...)
	}
}

// HeartbeatDetails returns what an earlier attempt of the activity
// recorded last with RecordHeartbeat (its first detail, decoded into T);
// false when nothing was recorded, on the first attempt, when the details
// do not decode into T, and outside an activity. An attempt does not see
// its own details.
func HeartbeatDetails[T any](ctx context.Context) (T, bool) {
	var v T
	env := actenv.From(ctx)
	if env == nil || env.LastDetails == nil {
		return v, false
	}
	if !env.LastDetails(&v) {
		var zero T
		return zero, false
	}
	return v, true
}
