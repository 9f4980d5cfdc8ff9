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
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

// ActivityEnv unit-tests activities: it gives them the context a worker
// gives them, so activity.Logger, activity.Attempt, activity.GetInfo,
// activity.RecordHeartbeat and activity.HeartbeatDetails work, and it
// records their heartbeats. Set its exported fields before use; it is safe
// for concurrent use afterwards.
//
// Heartbeat details carry over as between a worker's attempts: what one
// call recorded last is what activity.HeartbeatDetails returns in the
// calls made after it (raise Info.Attempt to make such a call a retry), or
// set them with SetHeartbeatDetails.
//
// Call an activity directly with the context from Context, or run it as a
// worker runs one attempt with ExecuteActivity.
type ActivityEnv struct {
	// Info is what activity.GetInfo reports (and Info.Attempt what
	// activity.Attempt does). An empty ActivityName is filled in by
	// ExecuteActivity with the function's name.
	Info activity.Info
	// Logger is the base of what activity.Logger returns, which adds the
	// attempt's instance_id, execution_id, activity and attempt as the
	// worker's does; nil discards.
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
	details    heartbeatDetails
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
	conv := e.converter()
	earlier := e.details.last()
	env := &actenv.Env{
		InstanceID:   e.Info.InstanceID,
		ExecutionID:  e.Info.ExecutionID,
		ActivityName: name,
		ScheduleID:   e.Info.ScheduleID,
		Attempt:      e.Info.Attempt,
		ScheduledAt:  e.Info.ScheduledAt,
		LastDetails:  decodeDetails(conv, earlier),
	}
	env.Logger = env.TaggedLogger(logger)
	env.Heartbeat = func(details ...any) {
		e.mu.Lock()
		e.heartbeats = append(e.heartbeats, slices.Clone(details))
		e.mu.Unlock()
		if err := e.details.record(conv, details); err != nil {
			env.Logger.Warn("heartbeat details do not encode; dropped", logkey.Err, err)
		}
	}
	return env
}

// SetHeartbeatDetails sets what activity.HeartbeatDetails returns in the
// activity calls made from now on, as if an earlier attempt had recorded
// details; an error says they do not encode with the converter.
func (e *ActivityEnv) SetHeartbeatDetails(details ...any) error {
	if err := e.details.record(e.converter(), details); err != nil {
		return fmt.Errorf("tester: SetHeartbeatDetails: %w", err)
	}
	return nil
}

func (e *ActivityEnv) converter() converter.Converter {
	if e.Converter == nil {
		return converter.Default
	}
	return e.Converter
}

// heartbeatDetails keeps the last heartbeat details of an activity across
// its attempts, encoded, as a worker does.
type heartbeatDetails struct {
	mu      sync.Mutex
	encoded [][]byte
}

// record replaces the details with these; none keeps them.
func (h *heartbeatDetails) record(conv converter.Converter, details []any) error {
	if len(details) == 0 {
		return nil
	}
	enc := make([][]byte, len(details))
	for i, v := range details {
		b, err := conv.Encode(v)
		if err != nil {
			return err
		}
		enc[i] = b
	}
	h.mu.Lock()
	h.encoded = enc
	h.mu.Unlock()
	return nil
}

// last is what was recorded last; nil: nothing.
func (h *heartbeatDetails) last() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.encoded
}

// decodeDetails is an attempt's actenv.Env.LastDetails, for the details
// earlier attempts left.
func decodeDetails(conv converter.Converter, earlier [][]byte) func(v any) bool {
	return func(v any) bool {
		return len(earlier) > 0 && conv.Decode(earlier[0], v) == nil
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
// with a *workflow.Error of type workflow.ErrTypeTimeout, and a panic becomes a
// *workflow.PanicError. Otherwise the error is the activity's own. Decode
// the result with EncodedValue.Get.
func (e *ActivityEnv) ExecuteActivity(fn any, args ...any) (EncodedValue, error) {
	conv := e.converter()
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
