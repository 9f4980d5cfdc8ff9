// Package actenv carries what an activity's context.Context knows about the
// running attempt, between the worker that sets it and package activity
// that reads it.
package actenv

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jetflow/jetflow/internal/logkey"
)

// Env is the running activity attempt.
type Env struct {
	InstanceID   string
	ExecutionID  string
	ActivityName string
	ScheduleID   int64
	Attempt      int
	ScheduledAt  time.Time
	Logger       *slog.Logger
	// Heartbeat records progress: it keeps the task's lease and resets
	// the heartbeat timeout; details, when given, are kept for the next
	// attempt.
	Heartbeat func(details ...any)
	// LastDetails decodes into v (a pointer) the first of the details an
	// earlier attempt recorded with Heartbeat; false when there are none.
	LastDetails func(v any) bool
	// TaskToken names the call for an asynchronous completion through
	// the client (empty where that is not possible).
	TaskToken []byte
	// Local says the attempt is a local activity's, run inside its
	// workflow's task (no heartbeats, no task token, no schedule event).
	Local bool
}

// ErrResultPending is what an activity returns to say an outside system
// will complete it with the task token (activity.ErrResultPending).
var ErrResultPending = errors.New("activity result pending: it will be completed with its task token")

type key struct{}

// With returns ctx carrying env.
func With(ctx context.Context, env *Env) context.Context {
	return context.WithValue(ctx, key{}, env)
}

// From returns the env of ctx, or nil outside an activity.
func From(ctx context.Context) *Env {
	env, _ := ctx.Value(key{}).(*Env)
	return env
}

// TaggedLogger returns base with the attempt's instance, run, activity
// and attempt number as attributes: the logger activity.Logger returns.
func (e *Env) TaggedLogger(base *slog.Logger) *slog.Logger {
	return base.With(logkey.Instance, e.InstanceID, logkey.Execution, e.ExecutionID,
		logkey.Activity, e.ActivityName, logkey.Attempt, e.Attempt)
}
