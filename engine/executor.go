package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/coro"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/internal/sentinel"
	"github.com/jetflow/jetflow/internal/wfenv"
	"github.com/jetflow/jetflow/workflow"
)

// DefaultBlockedTimeout is how long workflow code may hold control without
// calling the workflow API before it is reported as blocked.
const DefaultBlockedTimeout = 2 * time.Second

// Options configure an Executor.
type Options struct {
	// InstanceID and ExecutionID name the run (workflow.GetInfo, the
	// logger, derived sub-workflow IDs). An inbound event whose
	// ExecutionID is set and differs from ExecutionID is ignored.
	InstanceID  string
	ExecutionID string
	// Registry finds the workflow function named by the run's
	// WorkflowStarted event. Required.
	Registry Registry
	// Converter encodes arguments and results; nil means
	// converter.Default. It is the backend's (streams.Backend.Converter).
	Converter converter.Converter
	// Logger is the base of workflow.Logger; nil discards.
	Logger *slog.Logger
	// ContextPropagators carry context values from the WorkflowStarted
	// header into the root context, and from workflow contexts into the
	// headers of activities and sub-workflows.
	ContextPropagators []workflow.ContextPropagator
	// BlockedTimeout is how long workflow code may run without reaching
	// the workflow API before Execute or Replay fails with a
	// *BlockedError. 0 means DefaultBlockedTimeout; negative disables the
	// check (for debugging).
	BlockedTimeout time.Duration
	// MaxHistoryLength fails a run whose history grows past this many
	// events, with a workflow.ErrTypeHistoryLimit error that points to
	// workflow.ContinueAsNew. 0 means DefaultMaxHistoryLength; negative
	// means no limit.
	MaxHistoryLength int64
	// LocalActivities runs the run's local activities
	// (workflow.ExecuteLocalActivity) inside its tasks; nil fails them
	// with ErrNoLocalActivities. Replay never calls it: it takes the
	// recorded outcomes.
	LocalActivities LocalActivityRunner
}

// DefaultMaxHistoryLength is the history length at which a run fails unless
// Options.MaxHistoryLength says otherwise. A run that long replays slowly
// after every cache miss; a long-lived workflow should continue as new well
// before it.
const DefaultMaxHistoryLength = 50_000

// Executor runs one workflow run: it turns the run's events into calls into
// the workflow code and the code's calls into events. It is not safe for
// concurrent use; a worker runs one task of an instance at a time anyway.
// See the package documentation for how to drive it.
type Executor struct {
	opts   Options
	conv   converter.Converter
	sched  *coro.Scheduler
	logger *slog.Logger // for workflow code: silent while replaying
	log    *slog.Logger // for the executor's own messages

	// The run, known once WorkflowStarted is applied.
	started      bool
	workflowName string
	queue        string
	parent       *history.Parent
	continuedID  string
	attempt      int
	memo         map[string][]byte
	// dynamic: the run is the catch-all workflow's.
	dynamic     bool
	fn          reflect.Value
	cancelRoot  func()
	cancelAsked bool
	coroutines  int
	mainDone    bool
	mainOut     []reflect.Value
	final       *history.Event
	versions    map[string]int
	signals     map[string]*signalState
	queries     map[string]reflect.Value
	rootCtx     any // the run's root workflow.Context
	// updateHandlers are the registered update handlers, updates the
	// updates the run accepted (by update ID), answers what the current
	// Execute has to tell update callers (see update.go).
	updateHandlers map[string]updateHandler
	updates        map[string]*updateState
	answers        []UpdateAnswer
	pending        map[int64]*command
	seenInbox      map[string]struct{}
	now            time.Time
	lastID         int64
	replaying      bool
	replay         []history.Event // the history Replay is walking
	pos            int             // the next event of replay to apply or match
	out            []history.Event // the events of the current Execute
	inQuery        bool
	err            error // set once the executor cannot go on
	closed         bool

	// unsent are the IDs of the commands issued in the current Execute:
	// canceled before their task commits, they are dropped (never
	// recorded or sent). holes are the commands that Replay found dropped
	// by the run that issued them (see dropped); the code must cancel
	// them again before the Replay ends.
	unsent []int64
	holes  []int64

	// local holds the local activity calls of the task being run.
	local localState
}

// command is a scheduled command still waiting for its answer.
type command struct {
	event           history.Event
	done            wfenv.Callback
	waitCancel      bool
	cancelRequested bool
	// unsent: issued in the task being executed, so not committed yet.
	unsent bool
	// hole: replayed where the history has no event, because the run
	// that issued it canceled it within its task.
	hole bool
}

type signalState struct {
	ch      any
	sink    func([]byte)
	pending [][]byte
}

// NewExecutor returns an executor for one run. Nothing runs until events
// are given to Replay or Execute.
func NewExecutor(opts Options) (*Executor, error) {
	if opts.Registry == nil {
		return nil, errors.New("engine: Options.Registry is required")
	}
	if wfenv.NewRootContext == nil {
		return nil, errors.New("engine: package workflow is not initialised")
	}
	e := &Executor{
		opts:           opts,
		conv:           opts.Converter,
		versions:       map[string]int{},
		signals:        map[string]*signalState{},
		queries:        map[string]reflect.Value{},
		updateHandlers: map[string]updateHandler{},
		updates:        map[string]*updateState{},
		pending:        map[int64]*command{},
		seenInbox:      map[string]struct{}{},
	}
	e.conv = converter.OrDefault(e.conv)
	timeout := opts.BlockedTimeout
	if timeout == 0 {
		timeout = DefaultBlockedTimeout
	}
	e.sched = coro.New(timeout)
	base := opts.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	e.log = base.With(logkey.Instance, opts.InstanceID, logkey.Execution, opts.ExecutionID)
	e.logger = slog.New(&replayFilter{inner: e.log.Handler(), replaying: &e.replaying, sched: e.sched})
	return e, nil
}

// Replay applies committed events (of one or more commits, in order) and
// checks that the workflow code issues exactly the commands they record.
// Events the executor has already applied (ID up to HistoryLength) are
// skipped, so a warm executor can be given the run's full history or just
// the commits it has not seen. A *NondeterminismError reports code that
// disagrees with the history; after any error the executor is unusable.
func (e *Executor) Replay(events []history.Event) error {
	if err := e.usable(); err != nil {
		return err
	}
	for len(events) > 0 && events[0].ID != 0 && events[0].ID <= e.lastID {
		events = events[1:]
	}
	e.replay, e.pos, e.replaying = events, 0, true
	defer func() { e.replay, e.pos, e.replaying = nil, 0, false }()
	for e.pos < len(events) {
		ev := events[e.pos]
		if e.final != nil {
			return e.fail(fmt.Errorf("%w: event %d (%v) follows the run's final event %d (%v)",
				ErrBadHistory, ev.ID, ev.Kind, e.final.ID, e.final.Kind))
		}
		if IsSystemFailure(&ev) {
			// Not a command of the code: the executor or the worker
			// ended the run.
			if err := e.finish(history.Event{Kind: history.WorkflowFailed, Failure: ev.Failure}); err != nil {
				return err
			}
			continue
		}
		if isLocal(ev.Kind) {
			// A local activity's outcome, recorded where the task
			// that ran it got it.
			e.pos++
			if err := e.replayLocal(ev); err != nil {
				return err
			}
			continue
		}
		if !ev.Kind.Inbound() {
			// A command the code did not issue when it processed the
			// events before.
			return e.fail(e.nondeterminism(&ev, nil, ""))
		}
		e.pos++
		if err := e.apply(ev); err != nil {
			return err
		}
	}
	return e.checkHoles()
}

// checkHoles fails the replay if a command replayed into a hole of the
// history was not canceled again: the run that issued it canceled it
// before its task committed, since only that leaves a hole, and a Replay
// ends where a commit does.
func (e *Executor) checkHoles() error {
	if len(e.holes) == 0 {
		return nil
	}
	c := e.pending[e.holes[0]]
	return e.fail(&NondeterminismError{
		WorkflowName: e.workflowName, EventID: c.event.ID, Actual: c.event.Kind, ActualName: eventName(&c.event),
		Detail: fmt.Sprintf("the history has no event %d, and the code issued a command there that it did not cancel "+
			"in the same task (a command canceled in its task is left out of the history)", c.event.ID),
	})
}

// dropped reports, during Replay, whether the command the code issues next
// is one the history left out: the next event of the history has a later
// ID than the command would get, or the history ends here. Commands follow
// the inbound event they react to in the same commit, and a Replay ends
// where a commit does, so a command missing there was canceled before its
// task committed (or the code changed, which checkHoles reports).
func (e *Executor) dropped() bool {
	return e.replaying && (e.pos >= len(e.replay) || e.replay[e.pos].ID > e.lastID+1)
}

// Execute applies new inbound events (in order), runs the workflow code
// with each, and returns the events to commit: the events it accepted,
// followed after each by the commands the code issued in reaction, all with
// IDs assigned. Events it ignores are left out: an inbox message already
// applied (same InboxID), an answer to a command that is no longer pending
// (already answered, a canceled timer), a run's second WorkflowStarted,
// events meant for another run, and anything after the run's final event.
// Before the run has started, events must include its WorkflowStarted,
// which is applied first whatever its place (a signal can overtake a late
// start), so a history always begins with it. For a run that has finished
// it returns ErrRunFinished. After an error the
// executor is unusable: the worker drops it and builds a fresh one by
// Replay. The executor assumes the returned events get committed; if the
// commit fails it must be dropped too.
func (e *Executor) Execute(events []history.Event) ([]history.Event, error) {
	if err := e.usable(); err != nil {
		return nil, err
	}
	if e.final != nil {
		return nil, ErrRunFinished
	}
	for i := range events {
		if !events[i].Kind.Inbound() {
			return nil, fmt.Errorf("%w: Execute was given a %v event (index %d); only inbound events can be executed",
				ErrBadHistory, events[i].Kind, i)
		}
	}
	if !e.started {
		// The start comes first in the history whatever order the inbox
		// delivered the run's first events in (a signal can overtake a
		// late start).
		i := slices.IndexFunc(events, func(ev history.Event) bool { return ev.Kind == history.WorkflowStarted })
		if i < 0 && len(events) > 0 {
			return nil, fmt.Errorf("%w: the run has not started, and the events given to Execute hold no WorkflowStarted", ErrBadHistory)
		}
		if i > 0 {
			events = slices.Concat(events[i:i+1], events[:i], events[i+1:])
		}
	}
	e.out = make([]history.Event, 0, 2*len(events)+2)
	e.answers = nil
	for _, ev := range events {
		if e.final != nil {
			// Too late for the run; an update's caller is told so.
			e.answerLate(&ev)
			continue
		}
		if ev.Kind == history.UpdateRequested {
			if err := e.requestUpdate(ev); err != nil {
				e.out = nil
				return nil, err
			}
			continue
		}
		if err := e.apply(ev); err != nil {
			e.out = nil
			return nil, err
		}
	}
	if len(e.local.calls) > 0 && e.final == nil {
		// Calls the code made in a replay whose outcome the history
		// does not hold yet run now.
		if err := e.run(); err != nil {
			e.out = nil
			return nil, err
		}
	}
	if err := e.enforceHistoryLimit(); err != nil {
		e.out = nil
		return nil, err
	}
	// The task commits: what it issued is sent from now on.
	for _, id := range e.unsent {
		if c := e.pending[id]; c != nil {
			c.unsent = false
		}
	}
	e.unsent = e.unsent[:0]
	out := e.out
	e.out = nil
	return out, nil
}

// Close releases the goroutines of the workflow code (their deferred calls
// run, but cannot reach the workflow API). Call it when dropping an executor,
// including one that returned an error, and never while another call on it
// is running. It is idempotent.
func (e *Executor) Close() {
	if e.closed {
		return
	}
	e.closed = true
	e.stopLocals()
	e.sched.Close()
}

// HistoryLength is the ID of the last event applied or produced: the length
// of the run's history as the executor knows it.
func (e *Executor) HistoryLength() int64 { return e.lastID }

// Now is the run's current workflow time.
func (e *Executor) Now() time.Time { return e.now }

// Final returns the run's final event once it has one (completed, failed,
// canceled, continued as new or terminated).
func (e *Executor) Final() (history.Event, bool) {
	if e.final == nil {
		return history.Event{}, false
	}
	return *e.final, true
}

// Applied reports whether the run's history holds the inbound event with
// this InboxID (the worker uses it to tell an event the run already took
// from one that came too late for it).
func (e *Executor) Applied(inboxID string) bool {
	_, ok := e.seenInbox[inboxID]
	return ok
}

// Err returns the error that made the executor unusable, or nil.
func (e *Executor) Err() error { return e.err }

func (e *Executor) usable() error {
	if e.closed {
		return ErrClosed
	}
	return e.err
}

// fail makes the executor unusable with err and returns it.
func (e *Executor) fail(err error) error {
	if e.err == nil {
		e.err = err
	}
	e.sched.Halt()
	return e.err
}

// nondeterminism builds the error for history event h (nil: none) versus
// the code's command c (nil: none).
func (e *Executor) nondeterminism(h, c *history.Event, detail string) *NondeterminismError {
	err := &NondeterminismError{WorkflowName: e.workflowName, EventID: e.lastID + 1, Detail: detail}
	if h != nil {
		err.Expected, err.ExpectedName = h.Kind, eventName(h)
	}
	if c != nil {
		err.Actual, err.ActualName = c.Kind, eventName(c)
	}
	return err
}

// match checks the code's command c against the next event of the history
// being replayed.
func (e *Executor) match(c *history.Event) error {
	if e.pos >= len(e.replay) {
		return e.nondeterminism(nil, c, "")
	}
	h := &e.replay[e.pos]
	if h.Kind.Inbound() {
		return e.nondeterminism(h, c, "")
	}
	if h.ID > e.lastID+1 {
		return e.nondeterminism(nil, c, fmt.Sprintf("the history has no event %d (a command canceled in the task "+
			"that issued it is left out), but the code records a %v there", e.lastID+1, c.Kind))
	}
	if same, detail := sameCommand(h, c); !same {
		return e.nondeterminism(h, c, detail)
	}
	if h.ID != e.lastID+1 {
		return fmt.Errorf("%w: expected event %d, got event %d (%v)", ErrBadHistory, e.lastID+1, h.ID, h.Kind)
	}
	return nil
}

// eventName is what identifies an event besides its kind and the command
// it refers to, for matching commands and for messages.
func eventName(ev *history.Event) string {
	switch ev.Kind {
	case history.SignalWorkflowScheduled:
		return ev.Name + " to " + ev.InstanceID
	case history.UpdateAccepted, history.UpdateCompleted:
		return fmt.Sprintf("%s (update ID %q)", ev.Name, ev.UpdateID)
	}
	return ev.Name
}

// sameCommand reports whether the code's command c is the history's event h.
func sameCommand(h, c *history.Event) (same bool, detail string) {
	if h.Kind != c.Kind || eventName(h) != eventName(c) {
		return false, ""
	}
	if h.ScheduleID != c.ScheduleID {
		return false, fmt.Sprintf("in the history it refers to event %d, in the code to event %d", h.ScheduleID, c.ScheduleID)
	}
	return true, ""
}

// apply accepts one inbound event (or ignores it), updates the run, and runs
// the workflow code until it waits again.
func (e *Executor) apply(ev history.Event) error {
	if ev.Kind == history.UpdateRequested {
		return e.requestUpdate(ev)
	}
	if !e.accepts(&ev) {
		if e.replaying {
			return e.fail(e.nondeterminism(&ev, nil, "this event answers nothing the workflow code is waiting for"))
		}
		e.log.Debug("ignored an inbound event", logkey.Kind, ev.Kind, "inbox_id", ev.InboxID, "schedule_id", ev.ScheduleID)
		return nil
	}
	id := e.lastID + 1
	if e.replaying {
		if ev.ID != id {
			return e.fail(fmt.Errorf("%w: expected event %d, got event %d (%v)", ErrBadHistory, id, ev.ID, ev.Kind))
		}
	} else {
		ev.ID = id
		e.out = append(e.out, ev)
	}
	e.lastID = id
	if ev.InboxID != "" {
		e.seenInbox[ev.InboxID] = struct{}{}
	}
	if ev.Time.After(e.now) {
		e.now = ev.Time
	}

	switch ev.Kind {
	case history.WorkflowStarted:
		if err := e.start(&ev); err != nil {
			return err
		}
	case history.ActivityCompleted, history.SubWorkflowCompleted, history.TimerFired, history.SignalDelivered:
		c := e.pending[ev.ScheduleID]
		delete(e.pending, ev.ScheduleID)
		c.done(ev.Result, ErrorFromFailure(ev.Failure))
	case history.ActivityFailed, history.SubWorkflowFailed:
		c := e.pending[ev.ScheduleID]
		delete(e.pending, ev.ScheduleID)
		err := ErrorFromFailure(ev.Failure)
		if err == nil {
			err = &workflow.Error{Message: ev.Kind.String() + " without a failure"}
		}
		c.done(nil, err)
	case history.SignalReceived:
		var payload []byte
		if len(ev.Args) > 0 {
			payload = ev.Args[0]
		}
		s := e.signals[ev.Name]
		if s == nil {
			s = &signalState{}
			e.signals[ev.Name] = s
		}
		if s.sink != nil {
			s.sink(payload)
		} else {
			s.pending = append(s.pending, payload)
		}
	case history.CancelRequested:
		if !e.cancelAsked {
			e.cancelAsked = true
			if e.cancelRoot != nil {
				e.cancelRoot()
			}
		}
	case history.TerminateRequested:
		return e.finish(history.Event{Kind: history.WorkflowTerminated, Reason: ev.Reason})
	case history.UpdateAccepted:
		if err := e.startUpdate(&ev); err != nil {
			return err
		}
	case history.WorkflowTimeoutFired:
		f := ev.Failure
		if f == nil {
			f = &history.Failure{Type: workflow.ErrTypeTimeout, Message: "workflow timeout"}
		}
		return e.finish(history.Event{Kind: history.WorkflowFailed, Failure: f})
	}
	if e.err != nil {
		return e.err
	}
	return e.run()
}

// answers maps an answer kind to the kind of command it answers.
var answers = map[history.Kind]history.Kind{
	history.ActivityCompleted:    history.ActivityScheduled,
	history.ActivityFailed:       history.ActivityScheduled,
	history.TimerFired:           history.TimerScheduled,
	history.SubWorkflowCompleted: history.SubWorkflowScheduled,
	history.SubWorkflowFailed:    history.SubWorkflowScheduled,
	history.SignalDelivered:      history.SignalWorkflowScheduled,
}

// accepts decides whether an inbound event is applied or ignored.
func (e *Executor) accepts(ev *history.Event) bool {
	if ev.InboxID != "" {
		if _, seen := e.seenInbox[ev.InboxID]; seen {
			return false
		}
	}
	if ev.ExecutionID != "" && e.opts.ExecutionID != "" && ev.ExecutionID != e.opts.ExecutionID {
		return false
	}
	if ev.Kind == history.WorkflowStarted {
		return !e.started
	}
	if want, ok := answers[ev.Kind]; ok {
		c := e.pending[ev.ScheduleID]
		return c != nil && c.event.Kind == want
	}
	return true
}

// start looks up the workflow, decodes its arguments and starts its main
// coroutine.
func (e *Executor) start(ev *history.Event) error {
	e.started = true
	e.workflowName, e.queue, e.parent, e.continuedID = ev.Name, ev.Queue, ev.Parent, ev.ContinuedExecutionID
	if ev.Run != nil {
		e.attempt = ev.Run.Attempt
		if t := ev.StartTime(); t.After(e.now) {
			e.now = t // a delayed start: the run's clock starts when it does
		}
	}
	e.memo = ev.Memo
	e.logger = e.logger.With(logkey.Workflow, ev.Name)
	fn, ok := e.opts.Registry.Workflow(ev.Name)
	if !ok {
		return e.fail(fmt.Errorf("%w: %q", ErrUnknownWorkflow, ev.Name))
	}
	if d, isDynamic := fn.(*registry.Dynamic); isDynamic {
		return e.startDynamic(ev, d)
	}
	if err := registry.CheckWorkflow(fn); err != nil {
		return e.fail(fmt.Errorf("%w: %q: %v", ErrUnknownWorkflow, ev.Name, err))
	}
	e.fn = reflect.ValueOf(fn)
	root, cancel := wfenv.NewRootContext((*runEnv)(e))
	e.cancelRoot = cancel
	ctx, err := e.extractHeader(root.(workflow.Context), ev.Header)
	// Update handlers run in the run's context, with the propagated values.
	e.rootCtx = ctx
	if err != nil {
		return e.finish(history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{
			Type: workflow.ErrTypeArgument, Message: fmt.Sprintf("workflow %s: context propagation: %v", ev.Name, err), NonRetryable: true,
		}})
	}
	args, err := call.DecodeArgs(e.conv, fn, 1, ev.Args)
	if errors.Is(err, sentinel.PayloadUnavailable) {
		// A key or a stored object this worker lacks: the task fails,
		// not the run, and is retried (by a worker that has the key).
		return e.fail(fmt.Errorf("workflow %s: %w", ev.Name, err))
	}
	if err != nil {
		return e.finish(history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{
			Type:         workflow.ErrTypeArgument,
			Message:      fmt.Sprintf("workflow %s: %v", ev.Name, err),
			NonRetryable: true,
		}})
	}
	in := append([]reflect.Value{reflect.ValueOf(ctx)}, args...)
	e.sched.Spawn("main", e.mainCoroutine(in))
	if e.cancelAsked {
		cancel()
	}
	return nil
}

// startDynamic starts the catch-all workflow for a name no workflow is
// registered as: it gets the name and the arguments undecoded.
func (e *Executor) startDynamic(ev *history.Event, d *registry.Dynamic) error {
	e.dynamic = true
	e.fn = reflect.ValueOf(d.Fn)
	root, cancel := wfenv.NewRootContext((*runEnv)(e))
	e.cancelRoot = cancel
	ctx, err := e.extractHeader(root.(workflow.Context), ev.Header)
	if err != nil {
		return e.finish(history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{
			Type: workflow.ErrTypeArgument, Message: fmt.Sprintf("workflow %s: context propagation: %v", ev.Name, err), NonRetryable: true,
		}})
	}
	// The values decode through runEnv.Decode, so one this worker cannot
	// read fails the task, as the arguments of a registered workflow do.
	in := []reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(ev.Name), reflect.ValueOf(converter.NewEncodedValues((*runEnv)(e), ev.Args))}
	e.sched.Spawn("main", e.mainCoroutine(in))
	if e.cancelAsked {
		cancel()
	}
	return nil
}

// mainCoroutine calls the workflow function and keeps what it returns.
func (e *Executor) mainCoroutine(in []reflect.Value) func() {
	return func() {
		out := e.fn.Call(in)
		if !e.sched.Enter() {
			return // the run went on without this code (see runEnv.enter)
		}
		e.mainDone, e.mainOut = true, out
		e.sched.Leave()
		e.sched.Halt()
	}
}

// extractHeader gives the root context what the start's header carries,
// through the context propagators.
func (e *Executor) extractHeader(ctx workflow.Context, h map[string][]byte) (workflow.Context, error) {
	for _, p := range e.opts.ContextPropagators {
		var err error
		if ctx, err = p.ExtractToWorkflow(ctx, h); err != nil {
			return ctx, err
		}
	}
	return ctx, nil
}

// run runs the workflow code until it waits, then ends the run if the code
// returned or panicked. Outside a replay, while the code waits with local
// activity calls outstanding, it runs them and records each outcome as it
// comes, running the code after each, until none is left: their outcomes
// are committed with the task.
func (e *Executor) run() error {
	for {
		if err := e.runCode(); err != nil {
			return err
		}
		if e.replaying || e.err != nil || e.final != nil || !e.started {
			return e.err
		}
		if !e.runLocal() {
			return e.err
		}
	}
}

// runCode runs the workflow code until it waits, then ends the run if the
// code returned or panicked.
func (e *Executor) runCode() error {
	if !e.started || e.final != nil {
		return nil
	}
	err := e.sched.RunUntilBlocked()
	if e.err != nil {
		return e.err
	}
	if err != nil {
		var blocked *coro.BlockedError
		if errors.As(err, &blocked) {
			return e.fail(&BlockedError{Coroutine: blocked.Coroutine, Timeout: blocked.Timeout, Stack: blocked.Stack})
		}
		var p *coro.Panic
		if errors.As(err, &p) {
			return e.finish(history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{
				Type:    workflow.ErrTypePanic,
				Message: panicMessage(p.Value),
				Stack:   p.Stack,
			}})
		}
		return e.fail(err)
	}
	if e.mainDone {
		return e.finish(e.outcome())
	}
	return nil
}

func panicMessage(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(v)
}

// outcome is the final event for what the workflow function returned.
func (e *Executor) outcome() history.Event {
	out := e.mainOut
	var err error
	if v := out[len(out)-1]; !v.IsNil() {
		err = v.Interface().(error)
	}
	var can *wfenv.ContinueAsNewError
	switch {
	case err == nil:
		ev := history.Event{Kind: history.WorkflowCompleted}
		b, encErr := call.EncodeResult(e.conv, out)
		if encErr != nil {
			return history.Event{Kind: history.WorkflowFailed,
				Failure: FailureFromError(fmt.Errorf("workflow %s: %w", e.workflowName, encErr))}
		}
		ev.Result = b
		return ev
	case errors.As(err, &can):
		return history.Event{Kind: history.WorkflowContinuedAsNew, Args: can.Args}
	case e.cancelAsked && errors.Is(err, workflow.Canceled):
		return history.Event{Kind: history.WorkflowCanceled}
	default:
		return history.Event{Kind: history.WorkflowFailed, Failure: FailureFromError(err)}
	}
}

// enforceHistoryLimit ends a run whose history has outgrown the limit.
func (e *Executor) enforceHistoryLimit() error {
	limit := e.opts.MaxHistoryLength
	if limit == 0 {
		limit = DefaultMaxHistoryLength
	}
	if limit < 0 || e.final != nil || !e.started || e.lastID <= limit {
		return nil
	}
	return e.finish(history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{
		Type: workflow.ErrTypeHistoryLimit,
		Message: fmt.Sprintf("workflow %s: the run's history has %d events, more than the limit of %d; "+
			"a long-lived workflow should end its run with workflow.ContinueAsNew to go on with a fresh history",
			e.workflowName, e.lastID, limit),
		NonRetryable: true,
	}})
}

// IsSystemFailure reports whether ev is a WorkflowFailed that the executor
// or the worker recorded rather than the workflow code: the history grew
// past its limit, or a task's commit could not be stored (too large).
// Replay ends the run where it finds one, whatever the code would do next.
func IsSystemFailure(ev *history.Event) bool {
	return ev.Kind == history.WorkflowFailed && ev.Failure != nil &&
		(ev.Failure.Type == workflow.ErrTypeHistoryLimit || ev.Failure.Type == workflow.ErrTypePayloadTooLarge)
}

// finish records the run's final event and stops the workflow code.
func (e *Executor) finish(ev history.Event) error {
	out, ok := e.record(ev)
	if !ok {
		return e.err
	}
	e.final = &out
	e.stopLocals()
	e.answerUnfinished()
	e.sched.Halt()
	return nil
}

// record adds an event the run produced: during Replay it must match the
// next event of the history (which it returns); otherwise it gets the next
// ID and goes into the output. It reports false when the executor cannot go
// on; workflow code must then not go on (runEnv.stop), which its caller
// sees to once out of runEnv.enter/leave.
func (e *Executor) record(ev history.Event) (history.Event, bool) {
	if e.inQuery {
		panic("workflow: a query handler must not change the workflow's state (schedule work, cancel, start coroutines)")
	}
	if e.err == nil {
		ev.Time = e.now
		if !e.replaying {
			e.lastID++
			ev.ID = e.lastID
			e.out = append(e.out, ev)
			return ev, true
		}
		if e.pos < len(e.replay) && IsSystemFailure(&e.replay[e.pos]) {
			// The run ended here without the code's say: it does not
			// get to issue this command.
			h := e.replay[e.pos]
			e.pos++
			e.lastID = h.ID
			e.final = &h
			e.sched.Halt()
		} else if err := e.match(&ev); err != nil {
			e.fail(err)
		} else {
			h := e.replay[e.pos]
			e.pos++
			e.lastID = h.ID
			return h, true
		}
	}
	return ev, false
}
