package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// ReplayerOptions configure a Replayer. The zero value is ready to use.
type ReplayerOptions struct {
	// Converter must be the one the workers use. Default: msgpack.
	Converter converter.Converter
	// Logger receives the workflow code's log lines (silent while
	// replaying, as in a worker) and the replayer's own; nil discards.
	Logger *slog.Logger
	// ContextPropagators must be the workers' (a workflow may read the
	// values they put in its context).
	ContextPropagators []workflow.ContextPropagator
}

// Replayer replays stored histories against the workflow code registered
// with it, the way a worker would after a restart, and reports where the
// code no longer agrees with what the history records. Run it in tests
// against histories saved with `wfctl history --json` (or read from NATS)
// before deploying a change to workflow code.
type Replayer struct {
	reg  *registry.Registry
	opts ReplayerOptions
}

// NewReplayer returns a Replayer; opts may be nil.
func NewReplayer(opts *ReplayerOptions) *Replayer {
	r := &Replayer{reg: registry.New()}
	if opts != nil {
		r.opts = *opts
	}
	return r
}

// RegisterWorkflow registers workflow code under its name (or the one given
// with WithName), exactly as Worker.RegisterWorkflow does.
func (r *Replayer) RegisterWorkflow(wf any, opts ...RegisterOption) error {
	return addWorkflow(r.reg, wf, opts)
}

// ReplayError is what a replay that failed returns: the run and the cause,
// which is a *engine.NondeterminismError when the code disagrees with the
// history (match it with errors.As).
type ReplayError struct {
	InstanceID  string
	ExecutionID string
	Err         error
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("replay of run %q of instance %q: %v", e.ExecutionID, e.InstanceID, e.Err)
}

func (e *ReplayError) Unwrap() error { return e.Err }

// HistoryFile is the JSON form of one run's history that
// `wfctl history --json` writes and ReplayFile reads.
type HistoryFile struct {
	InstanceID  string          `json:"instance_id"`
	ExecutionID string          `json:"execution_id"`
	Events      []history.Event `json:"events"`
}

// Replay replays the events of one run (from its WorkflowStarted on) and
// returns nil if the registered code issues exactly the commands the
// history records. The run may be finished or still running.
func (r *Replayer) Replay(instanceID, executionID string, events []history.Event) error {
	return r.replay(r.opts.Converter, instanceID, executionID, events)
}

// replay is Replay with the converter to decode payloads with.
func (r *Replayer) replay(conv converter.Converter, instanceID, executionID string, events []history.Event) error {
	fail := func(err error) error {
		return &ReplayError{InstanceID: instanceID, ExecutionID: executionID, Err: err}
	}
	if len(events) == 0 {
		return fail(errors.New("the history is empty"))
	}
	if events[0].Kind != history.WorkflowStarted {
		return fail(fmt.Errorf("%w: the history starts with %v, not WorkflowStarted", engine.ErrBadHistory, events[0].Kind))
	}
	if _, ok := r.reg.Workflow(events[0].Name); !ok {
		return fail(fmt.Errorf("%w: %q is not registered with the replayer", engine.ErrUnknownWorkflow, events[0].Name))
	}
	ex, err := engine.NewExecutor(engine.Options{
		InstanceID:  instanceID,
		ExecutionID: executionID,
		Registry:    r.reg,
		Converter:   conv,
		Logger:      r.opts.Logger,

		ContextPropagators: r.opts.ContextPropagators,
	})
	if err != nil {
		return fail(err)
	}
	defer ex.Close()
	if err := ex.Replay(events); err != nil {
		return fail(err)
	}
	return nil
}

// ReplayFile replays a run saved by `wfctl history --json`. The file may
// hold one run (a JSON object) or several (a JSON array of them); each is
// replayed and the errors are joined.
func (r *Replayer) ReplayFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("worker: replay: %w", err)
	}
	runs, err := ParseHistoryFile(data)
	if err != nil {
		return fmt.Errorf("worker: replay %s: %w", path, err)
	}
	var errs []error
	for _, h := range runs {
		errs = append(errs, r.Replay(h.InstanceID, h.ExecutionID, h.Events))
	}
	return errors.Join(errs...)
}

// ParseHistoryFile decodes the JSON that `wfctl history --json` writes: one
// run as an object, or several as an array.
func ParseHistoryFile(data []byte) ([]HistoryFile, error) {
	var runs []HistoryFile
	trimmed := firstNonSpace(data)
	switch trimmed {
	case '[':
		if err := json.Unmarshal(data, &runs); err != nil {
			return nil, fmt.Errorf("not a history file: %w", err)
		}
	case '{':
		var one HistoryFile
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("not a history file: %w", err)
		}
		runs = []HistoryFile{one}
	default:
		return nil, errors.New("not a history file: expected a JSON object or array")
	}
	for i, h := range runs {
		if h.InstanceID == "" || h.ExecutionID == "" {
			return nil, fmt.Errorf("run %d: instance_id and execution_id are required", i+1)
		}
		if len(h.Events) == 0 {
			return nil, fmt.Errorf("run %d (%q of %q): no events", i+1, h.ExecutionID, h.InstanceID)
		}
	}
	return runs, nil
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// ReplayInstance reads every run of an instance from NATS (earlier runs of
// a continued instance, then the current one) and replays each.
func (r *Replayer) ReplayInstance(ctx context.Context, b *streams.Backend, instanceID string) error {
	rec, err := b.GetInstance(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("worker: replay instance %q: %w", instanceID, err)
	}
	var errs []error
	for _, run := range append(append([]string(nil), rec.Runs...), rec.ExecutionID) {
		h, err := b.ReadHistory(ctx, instanceID, run)
		if err != nil {
			errs = append(errs, fmt.Errorf("worker: replay instance %q: read run %q: %w", instanceID, run, err))
			continue
		}
		if len(h.Commits) == 0 {
			continue // removed, or not started yet
		}
		// Without a converter of its own, the backend's (with its codec
		// and large-payload store) reads what the workers wrote.
		conv := r.opts.Converter
		if conv == nil {
			conv = b.Converter()
		}
		errs = append(errs, r.replay(conv, instanceID, run, h.Events()))
	}
	return errors.Join(errs...)
}
