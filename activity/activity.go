// Package activity is the API an activity author uses: the activity's
// logger, its attempt number and other facts about the call, and
// heartbeats for long-running activities.
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
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Logger returns a logger tagged with the workflow instance, run, activity
// name and attempt.
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
	}
}

// RecordHeartbeat tells the worker the activity is alive and making
// progress: it keeps the task's lease, so no other worker takes it over,
// and restarts the HeartbeatTimeout clock. Call it more often than the
// activity's HeartbeatTimeout.
func RecordHeartbeat(ctx context.Context, details ...any) {
	if env := actenv.From(ctx); env != nil && env.Heartbeat != nil {
		env.Heartbeat(details...)
	}
}
