package tester

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

// ActivityEnv unit-tests activities: it gives them the context a worker
// gives them, so activity.Logger, activity.Attempt, activity.GetInfo and
// activity.RecordHeartbeat work, and it records their heartbeats. Set its
// exported fields before use; it is safe for concurrent use afterwards.
//
// Call an activity directly with the context from Context, or run it as a
// worker runs one attempt with ExecuteActivity.
type ActivityEnv struct {
	// Info is what activity.GetInfo reports (and Info.Attempt what
	// activity.Attempt does). An empty ActivityName is filled in by
	// ExecuteActivity with the function's name.
	Info activity.Info
	// Logger is what activity.Logger returns; nil discards.
	Logger *slog.Logger
	// Converter encodes arguments and results in ExecuteActivity; nil
	// means converter.Default.
	Converter converter.Converter
	// Options are the activity options whose timeouts ExecuteActivity
	// enforces: StartToCloseTimeout (the worker's default of ten minutes
	// when zero), ScheduleToCloseTimeout (counted from Info.ScheduledAt)
	// and HeartbeatTimeout. Retries are the workflow tester's business.
	Options workflow.ActivityOptions

	mu         sync.Mutex
	heartbeats [][]any
}

// NewActivityEnv returns an environment for a first attempt, scheduled
// now, of an activity called by instance DefaultInstanceID.
func NewActivityEnv() *ActivityEnv {
	return &ActivityEnv{Info: activity.Info{
		InstanceID:  DefaultInstanceID,
		ExecutionID: "run-1",
		ScheduleID:  1,
		Attempt:     1,
		ScheduledAt: time.Now().UTC(),
	}}
}

// Context returns a child of parent that carries the activity's
// environment; pass it to an activity function called directly.
func (e *ActivityEnv) Context(parent context.Context) context.Context {
	return actenv.With(parent, e.actenv(e.Info.ActivityName))
}

func (e *ActivityEnv) actenv(name string) *actenv.Env {
	logger := e.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &actenv.Env{
		InstanceID:   e.Info.InstanceID,
		ExecutionID:  e.Info.ExecutionID,
		ActivityName: name,
		ScheduleID:   e.Info.ScheduleID,
		Attempt:      e.Info.Attempt,
		ScheduledAt:  e.Info.ScheduledAt,
		Logger:       logger,
		Heartbeat: func(details ...any) {
			e.mu.Lock()
			e.heartbeats = append(e.heartbeats, slices.Clone(details))
			e.mu.Unlock()
		},
	}
}

// Heartbeats returns the details of every activity.RecordHeartbeat call so
// far, oldest first.
func (e *ActivityEnv) Heartbeats() [][]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.heartbeats)
}

// ExecuteActivity runs one attempt of activity fn with args as a worker
// does: the arguments and the result go through the converter, the
// timeouts of Options cancel the activity's context and end the attempt
// with a "Timeout" *workflow.Error, and a panic becomes a
// *workflow.PanicError. Otherwise the error is the activity's own. Decode
// the result with EncodedValue.Get.
func (e *ActivityEnv) ExecuteActivity(fn any, args ...any) (EncodedValue, error) {
	conv := e.Converter
	if conv == nil {
		conv = converter.Default
	}
	if err := registry.CheckActivity(fn); err != nil {
		return EncodedValue{}, fmt.Errorf("%w: ExecuteActivity: %w", ErrBadSetup, err)
	}
	name := e.Info.ActivityName
	if name == "" {
		name, _ = registry.Name(fn)
	}
	if err := funcinfo.CheckArgs(reflect.TypeOf(fn), 1, args); err != nil {
		return EncodedValue{}, fmt.Errorf("%w: ExecuteActivity: activity %s %w", ErrBadSetup, name, err)
	}
	payloads, err := call.EncodeArgs(conv, args)
	if err != nil {
		return EncodedValue{}, fmt.Errorf("%w: ExecuteActivity: activity %s: %w", ErrBadSetup, name, err)
	}
	o := e.Options
	lim := attemptLimits{
		name:            name,
		timeout:         o.StartToCloseTimeout,
		cause:           actrun.ErrStartToClose,
		scheduleToClose: o.ScheduleToCloseTimeout,
		heartbeat:       o.HeartbeatTimeout,
	}
	if lim.timeout <= 0 {
		lim.timeout = defaultActivityTimeout
	}
	if s2c := o.ScheduleToCloseTimeout; s2c > 0 {
		left := time.Until(e.Info.ScheduledAt.Add(s2c))
		if left <= 0 {
			return EncodedValue{}, actrun.TimeoutError(name, actrun.ErrScheduleToClose, s2c)
		}
		if left < lim.timeout {
			lim.timeout, lim.cause = left, actrun.ErrScheduleToClose
		}
	}
	result, err := runAttempt(context.Background(), fn, payloads, conv, e.actenv(name), lim)
	if err != nil {
		return EncodedValue{}, err
	}
	return EncodedValue{data: result, conv: conv}, nil
}
