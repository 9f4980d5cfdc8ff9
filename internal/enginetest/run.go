// Package enginetest drives an engine.Executor with hand-built events, for
// the tests of packages engine and workflow. Every task's output goes through
// the history encoding and back before it counts as committed, as it would
// through JetStream.
package enginetest

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/registry"
)

// Epoch is the workflow time of a run's start.
var Epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// Run is one workflow run driven by a test.
type Run struct {
	T       testing.TB
	Ex      *engine.Executor
	Opts    engine.Options
	Commits [][]history.Event
	Clock   time.Time
}

// New returns a run of the given workflows on a fresh executor: functions
// are registered by their names, an engine.Workflows is merged as it is.
// opts may adjust the options (Registry is filled in).
func New(t testing.TB, opts engine.Options, workflows ...any) *Run {
	t.Helper()
	reg := engine.Workflows{}
	for _, w := range workflows {
		if m, ok := w.(engine.Workflows); ok {
			maps.Copy(reg, m)
			continue
		}
		if err := registry.CheckWorkflow(w); err != nil {
			t.Fatalf("workflow %T: %v", w, err)
		}
		name, err := registry.Name(w)
		if err != nil {
			t.Fatalf("workflow %T: %v", w, err)
		}
		reg[name] = w
	}
	if opts.InstanceID == "" {
		opts.InstanceID = "inst-1"
	}
	if opts.ExecutionID == "" {
		opts.ExecutionID = "run-1"
	}
	opts.Registry = reg
	r := &Run{T: t, Opts: opts, Clock: Epoch}
	r.Ex = r.NewExecutor()
	t.Cleanup(func() { r.Ex.Close() })
	return r
}

// NewExecutor returns a fresh executor with the run's options.
func (r *Run) NewExecutor() *engine.Executor {
	r.T.Helper()
	ex, err := engine.NewExecutor(r.Opts)
	if err != nil {
		r.T.Fatalf("NewExecutor: %v", err)
	}
	return ex
}

// Quiet sets a logger that discards, for runs that log on purpose.
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Encode encodes v with the default converter.
func (r *Run) Encode(v any) []byte {
	r.T.Helper()
	b, err := converter.Default.Encode(v)
	if err != nil {
		r.T.Fatalf("encode %v: %v", v, err)
	}
	return b
}

// Decode decodes b into a T with the default converter.
func Decode[T any](r *Run, b []byte) T {
	r.T.Helper()
	var v T
	if len(b) == 0 {
		return v
	}
	if err := converter.Default.Decode(b, &v); err != nil {
		r.T.Fatalf("decode %x: %v", b, err)
	}
	return v
}

// Advance moves the clock that stamps the next inbound events.
func (r *Run) Advance(d time.Duration) { r.Clock = r.Clock.Add(d) }

// inboxSeq numbers inbox messages across runs, so a run built from
// another's history never reuses a message ID.
var inboxSeq atomic.Int64

func (r *Run) inbound(ev history.Event) history.Event {
	ev.InboxID = "msg-" + strconv.FormatInt(inboxSeq.Add(1), 10)
	ev.Time = r.Clock
	return ev
}

// Started is a WorkflowStarted event for workflow name with args.
func (r *Run) Started(name string, args ...any) history.Event {
	ev := history.Event{Kind: history.WorkflowStarted, Name: name, Queue: "q1"}
	for _, a := range args {
		ev.Args = append(ev.Args, r.Encode(a))
	}
	return r.inbound(ev)
}

// ActivityCompleted answers the activity scheduled as event id.
func (r *Run) ActivityCompleted(id int64, result any) history.Event {
	return r.inbound(history.Event{Kind: history.ActivityCompleted, ScheduleID: id, Result: r.Encode(result)})
}

// ActivityFailed fails the activity scheduled as event id with err.
func (r *Run) ActivityFailed(id int64, err error) history.Event {
	return r.inbound(history.Event{Kind: history.ActivityFailed, ScheduleID: id, Failure: engine.FailureFromError(err)})
}

// TimerFired fires the timer scheduled as event id.
func (r *Run) TimerFired(id int64) history.Event {
	return r.inbound(history.Event{Kind: history.TimerFired, ScheduleID: id})
}

// Signal is a signal name with arg.
func (r *Run) Signal(name string, arg any) history.Event {
	return r.inbound(history.Event{Kind: history.SignalReceived, Name: name, Args: [][]byte{r.Encode(arg)}})
}

// SubCompleted answers the sub-workflow scheduled as event id.
func (r *Run) SubCompleted(id int64, result any) history.Event {
	return r.inbound(history.Event{Kind: history.SubWorkflowCompleted, ScheduleID: id, Result: r.Encode(result)})
}

// SubFailed fails the sub-workflow scheduled as event id.
func (r *Run) SubFailed(id int64, f *history.Failure) history.Event {
	return r.inbound(history.Event{Kind: history.SubWorkflowFailed, ScheduleID: id, Failure: f})
}

// SignalDelivered answers the signal sent as event id (f nil: delivered).
func (r *Run) SignalDelivered(id int64, f *history.Failure) history.Event {
	return r.inbound(history.Event{Kind: history.SignalDelivered, ScheduleID: id, Failure: f})
}

// CancelRequested asks the run to cancel.
func (r *Run) CancelRequested() history.Event {
	return r.inbound(history.Event{Kind: history.CancelRequested})
}

// TimeoutFired is a WorkflowTimeoutFired event with failure f.
func (r *Run) TimeoutFired(f *history.Failure) history.Event {
	return r.inbound(history.Event{Kind: history.WorkflowTimeoutFired, Failure: f})
}

// TerminateRequested terminates the run.
func (r *Run) TerminateRequested(reason string) history.Event {
	return r.inbound(history.Event{Kind: history.TerminateRequested, Reason: reason})
}

// Update is a request for the update name with ID id and args.
func (r *Run) Update(id, name string, args ...any) history.Event {
	payloads := make([][]byte, len(args))
	for i, a := range args {
		payloads[i] = r.Encode(a)
	}
	return r.inbound(history.Event{Kind: history.UpdateRequested, Name: name, UpdateID: id, Args: payloads})
}

// Execute runs one task with events and commits its output.
func (r *Run) Execute(events ...history.Event) ([]history.Event, error) {
	out, err := r.Ex.Execute(events)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	b, err := history.EncodeCommit(&history.Commit{Events: out})
	if err != nil {
		r.T.Fatalf("encode commit: %v", err)
	}
	c, err := history.DecodeCommit(b)
	if err != nil {
		r.T.Fatalf("decode commit: %v", err)
	}
	r.Commits = append(r.Commits, c.Events)
	return c.Events, nil
}

// Do is Execute that fails the test on error.
func (r *Run) Do(events ...history.Event) []history.Event {
	r.T.Helper()
	out, err := r.Execute(events...)
	if err != nil {
		r.T.Fatalf("Execute: %v", err)
	}
	return out
}

// History is every committed event, in order.
func (r *Run) History() []history.Event {
	var all []history.Event
	for _, c := range r.Commits {
		all = append(all, c...)
	}
	return all
}

// Last returns the last committed event of kind (and name, if not empty).
func (r *Run) Last(kind history.Kind, name string) history.Event {
	r.T.Helper()
	h := r.History()
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Kind == kind && (name == "" || h[i].Name == name) {
			return h[i]
		}
	}
	r.T.Fatalf("no %v %q event in history:\n%s", kind, name, Format(h))
	return history.Event{}
}

// Final returns the run's final event, failing the test if there is none.
func (r *Run) Final() history.Event {
	r.T.Helper()
	ev, ok := r.Ex.Final()
	if !ok {
		r.T.Fatalf("the run has not finished; history:\n%s", Format(r.History()))
	}
	return ev
}

// Result decodes the result of a completed run.
func Result[T any](r *Run) T {
	r.T.Helper()
	ev := r.Final()
	if ev.Kind != history.WorkflowCompleted {
		r.T.Fatalf("run ended with %v (%v), not WorkflowCompleted", ev.Kind, ev.Failure)
	}
	return Decode[T](r, ev.Result)
}

// ReplayWith replays the committed history on a fresh executor whose
// registry is reg (a changed workflow, say) and returns its error.
func (r *Run) ReplayWith(reg engine.Workflows) error {
	opts := r.Opts
	opts.Registry = reg
	ex, err := engine.NewExecutor(opts)
	if err != nil {
		r.T.Fatalf("NewExecutor: %v", err)
	}
	defer ex.Close()
	return ex.Replay(r.History())
}

// ReplayCheck replays the whole committed history on a fresh executor and
// checks it accepts it, issues no new command, and ends the same way.
func (r *Run) ReplayCheck() *engine.Executor {
	r.T.Helper()
	ex := r.NewExecutor()
	r.T.Cleanup(ex.Close)
	if err := ex.Replay(r.History()); err != nil {
		r.T.Fatalf("replay: %v\nhistory:\n%s", err, Format(r.History()))
	}
	if got, want := ex.HistoryLength(), r.Ex.HistoryLength(); got != want {
		r.T.Fatalf("replayed history length %d, want %d", got, want)
	}
	if out, err := ex.Execute(nil); err != nil && !errors.Is(err, engine.ErrRunFinished) {
		r.T.Fatalf("Execute(nil) after replay: %v", err)
	} else if len(out) != 0 {
		r.T.Fatalf("replay produced new events:\n%s", Format(out))
	}
	f1, ok1 := r.Ex.Final()
	f2, ok2 := ex.Final()
	if ok1 != ok2 || f1.Kind != f2.Kind || f1.ID != f2.ID || !bytes.Equal(f1.Result, f2.Result) ||
		(f1.Failure == nil) != (f2.Failure == nil) || (f1.Failure != nil && *f1.Failure != *f2.Failure) {
		r.T.Fatalf("replayed run ended with %v %v (%v), original with %v %v (%v)",
			f2.Kind, f2.Failure, ok2, f1.Kind, f1.Failure, ok1)
	}
	if !slices.EqualFunc(r.Ex.Pending(), ex.Pending(), func(a, b engine.PendingCommand) bool {
		return a.Event.ID == b.Event.ID && a.CancelRequested == b.CancelRequested
	}) {
		r.T.Fatalf("replayed run has pending %v, original %v", ex.Pending(), r.Ex.Pending())
	}
	return ex
}

// Format renders events one per line, for failure messages.
func Format(events []history.Event) string {
	s := ""
	for _, ev := range events {
		s += fmt.Sprintf("  %3d %-26v", ev.ID, ev.Kind)
		if ev.Name != "" {
			s += " name=" + ev.Name
		}
		if ev.ScheduleID != 0 {
			s += fmt.Sprintf(" schedule=%d", ev.ScheduleID)
		}
		if ev.Failure != nil {
			s += " failure=" + ev.Failure.Error()
		}
		s += "\n"
	}
	return s
}

// Kinds lists the kinds of events.
func Kinds(events []history.Event) []history.Kind {
	out := make([]history.Kind, len(events))
	for i, ev := range events {
		out[i] = ev.Kind
	}
	return out
}

// Start runs fn as the workflow "wf" and executes its WorkflowStarted
// with args.
func Start(t testing.TB, fn any, args ...any) *Run {
	t.Helper()
	r := New(t, engine.Options{}, engine.Workflows{"wf": fn})
	r.Do(r.Started("wf", args...))
	return r
}
