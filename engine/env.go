package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/coro"
	"github.com/jetflow/jetflow/internal/sentinel"
	"github.com/jetflow/jetflow/internal/wfenv"
	"github.com/jetflow/jetflow/workflow"
)

// runEnv is the executor as package workflow sees it (wfenv.Env). It is a
// separate type so these methods stay off Executor's public API.
type runEnv Executor

var _ wfenv.Env = (*runEnv)(nil)

func (r *runEnv) Scheduler() *coro.Scheduler { return r.sched }

// enter guards every method that reads or changes the run's state: it
// returns false for workflow code that the scheduler reported blocked
// (which runs on unsynchronised with the executor) once it comes back to the
// workflow API, and for deferred calls run by Close. Such code gets zero
// values and commands that never complete (waiting on one parks it for
// good): the run went on without it. Between enter and leave no user code
// runs and nothing blocks (see coro.Scheduler.Enter).
func (r *runEnv) enter() bool { return r.sched.Enter() }

func (r *runEnv) leave() { r.sched.Leave() }

// errDropped is what code that the run went on without gets from the
// workflow calls that return an error.
var errDropped = errors.New("workflow: the run went on without this code (it blocked outside the workflow API and was reported; see BlockedError)")

func (r *runEnv) Go(fn func()) {
	if !r.enter() {
		return
	}
	defer r.leave()
	if r.inQuery {
		panic("workflow: a query handler must not start coroutines")
	}
	r.coroutines++
	r.sched.Spawn("workflow.Go #"+strconv.Itoa(r.coroutines), fn)
}

func (r *runEnv) Now() time.Time {
	if !r.enter() {
		return time.Time{}
	}
	defer r.leave()
	return r.now
}

func (r *runEnv) Replaying() bool {
	if !r.enter() {
		return false
	}
	defer r.leave()
	return r.replaying
}

func (r *runEnv) Logger() *slog.Logger { return r.logger }

func (r *runEnv) Info() wfenv.Info {
	if !r.enter() {
		return wfenv.Info{InstanceID: r.opts.InstanceID, ExecutionID: r.opts.ExecutionID}
	}
	defer r.leave()
	return wfenv.Info{
		InstanceID:           r.opts.InstanceID,
		ExecutionID:          r.opts.ExecutionID,
		ContinuedExecutionID: r.continuedID,
		WorkflowName:         r.workflowName,
		Queue:                r.queue,
		HistoryLength:        r.lastID,
		Parent:               r.parent,
		Attempt:              max(r.attempt, 1),
		Memo:                 r.memo,
	}
}

func (r *runEnv) Encode(v any) ([]byte, error) { return r.conv.Encode(v) }

// Decode decodes a payload for the workflow code. A payload this worker
// cannot read now (a key it lacks, a stored object missing: the error
// matches sentinel.PayloadUnavailable) makes the task fail rather than
// handing the error to the code, which would likely fail the run: the
// task is retried, by a worker that has the key.
func (r *runEnv) Decode(data []byte, v any) error {
	err := r.conv.Decode(data, v)
	if err != nil && errors.Is(err, sentinel.PayloadUnavailable) && r.enter() {
		if !r.inQuery {
			r.exec().fail(fmt.Errorf("workflow %s: %w", r.workflowName, err))
		}
		r.leave()
	}
	return err
}

func (r *runEnv) exec() *Executor { return (*Executor)(r) }

// schedule records a command and remembers it until its answer comes.
// On replay, a command where the history has a hole (see
// Executor.dropped) takes the hole's ID without a history event: the run
// canceled it before its task committed, and the code must do so again.
func (r *runEnv) schedule(ev history.Event, done wfenv.Callback, waitCancel bool) int64 {
	id, ok := r.scheduleEntered(ev, done, waitCancel)
	if !ok {
		r.stop()
	}
	return id
}

func (r *runEnv) scheduleEntered(ev history.Event, done wfenv.Callback, waitCancel bool) (int64, bool) {
	if !r.enter() {
		return 0, true
	}
	defer r.leave()
	e := r.exec()
	if e.err == nil && !e.inQuery && e.dropped() {
		e.lastID++
		ev.ID, ev.Time = e.lastID, e.now
		r.pending[ev.ID] = &command{event: ev, done: done, waitCancel: waitCancel, hole: true}
		e.holes = append(e.holes, ev.ID)
		return ev.ID, true
	}
	out, ok := e.record(ev)
	if !ok {
		return 0, false
	}
	c := &command{event: out, done: done, waitCancel: waitCancel}
	if !e.replaying {
		c.unsent = true
		e.unsent = append(e.unsent, out.ID)
	}
	r.pending[out.ID] = c
	return out.ID, true
}

// nextEventID is the ID the next event of the run will get.
func (r *runEnv) nextEventID() int64 {
	if !r.enter() {
		return 0
	}
	defer r.leave()
	return r.lastID + 1
}

// stop parks workflow code for good after a command the run could not
// take (see Executor.record): nothing it does next may reach the run.
// Called outside enter/leave, since it blocks.
func (r *runEnv) stop() {
	if r.sched.Running() {
		r.sched.BlockForever()
	}
}

// drop forgets a command canceled before its task committed: its event
// leaves the task's output (or, on replay, its hole is accounted for), so
// it is never recorded, sent or started, and its future fails with
// Canceled at once, whether or not it waits for cancellations (there is
// nothing to wait for). Its ID stays taken: the IDs after it are the same
// on replay.
func (r *runEnv) drop(c *command) {
	if r.inQuery {
		panic("workflow: a query handler must not change the workflow's state (schedule work, cancel, start coroutines)")
	}
	e := r.exec()
	id := c.event.ID
	if c.hole {
		e.holes = slices.DeleteFunc(e.holes, func(h int64) bool { return h == id })
	} else if i := slices.IndexFunc(e.out, func(ev history.Event) bool { return ev.ID == id }); i >= 0 {
		e.out = slices.Delete(e.out, i, i+1)
	}
	delete(r.pending, id)
	c.done(nil, workflow.Canceled)
}

func (r *runEnv) ScheduleActivity(req wfenv.ActivityRequest, done wfenv.Callback) int64 {
	queue := req.Queue
	if queue == "" {
		queue = r.queue
	}
	opts := req.Options
	return r.schedule(history.Event{
		Kind:     history.ActivityScheduled,
		Name:     req.Name,
		Queue:    queue,
		Args:     req.Args,
		Activity: &opts,
		Header:   req.Header,
	}, done, opts.WaitForCancellation)
}

func (r *runEnv) ScheduleTimer(d time.Duration, done wfenv.Callback) int64 {
	return r.schedule(history.Event{Kind: history.TimerScheduled, FireAt: r.Now().Add(d)}, done, false)
}

func (r *runEnv) ScheduleSubWorkflow(req wfenv.SubWorkflowRequest, done wfenv.Callback) int64 {
	queue := req.Queue
	if queue == "" {
		queue = r.queue
	}
	id := req.InstanceID
	if id == "" {
		// Derived from the run and the event, so the same on replay and
		// unique across runs of the instance.
		run := r.opts.ExecutionID
		if run == "" {
			run = r.opts.InstanceID
		}
		id = run + "-" + strconv.FormatInt(r.nextEventID(), 10)
	}
	return r.schedule(history.Event{
		Kind:        history.SubWorkflowScheduled,
		Name:        req.Name,
		Queue:       queue,
		InstanceID:  id,
		Args:        req.Args,
		ParentClose: req.ParentClose,
		Run:         req.Run,
		Memo:        req.Memo,
		Header:      req.Header,
	}, done, req.WaitForCancellation)
}

func (r *runEnv) SignalWorkflow(instanceID, name string, arg []byte, done wfenv.Callback) int64 {
	return r.schedule(history.Event{
		Kind:       history.SignalWorkflowScheduled,
		InstanceID: instanceID,
		Name:       name,
		Args:       [][]byte{arg},
	}, done, false)
}

// CancelCommand records the cancellation of a pending command. A timer's
// future fails at once; an activity's or sub-workflow's fails at once unless
// it waits for the cancellation to complete. A signal to another instance
// cannot be canceled once sent. A command canceled before its task commits
// is dropped instead (see drop): nothing of it is recorded.
func (r *runEnv) CancelCommand(id int64) {
	if !r.cancelEntered(id) {
		r.stop()
	}
}

func (r *runEnv) cancelEntered(id int64) bool {
	if !r.enter() {
		return true
	}
	defer r.leave()
	c := r.pending[id]
	if c == nil || c.cancelRequested {
		return true
	}
	if c.unsent || c.hole {
		r.drop(c)
		return true
	}
	var kind history.Kind
	switch c.event.Kind {
	case history.ActivityScheduled:
		kind = history.ActivityCancelRequested
	case history.TimerScheduled:
		kind = history.TimerCanceled
	case history.SubWorkflowScheduled:
		kind = history.SubWorkflowCancelRequested
	default:
		return true
	}
	// The target's name and instance travel along, so the worker can act on
	// the cancel from this event alone.
	if _, ok := r.exec().record(history.Event{Kind: kind, ScheduleID: id, Name: c.event.Name, InstanceID: c.event.InstanceID}); !ok {
		return false
	}
	c.cancelRequested = true
	if c.waitCancel {
		return true
	}
	delete(r.pending, id)
	c.done(nil, workflow.Canceled)
	return true
}

func (r *runEnv) SideEffect(fn func() ([]byte, error)) ([]byte, error) {
	if !r.enter() {
		return nil, errDropped
	}
	replaying, inQuery := r.replaying, r.inQuery
	r.leave()
	if replaying {
		return r.recordSideEffect(history.Event{Kind: history.SideEffectRecorded}, true)
	}
	if inQuery {
		panic("workflow: a query handler must not record side effects")
	}
	// fn is user code: it runs outside enter/leave.
	result, err := fn()
	if _, rerr := r.recordSideEffect(history.Event{Kind: history.SideEffectRecorded, Result: result, Failure: FailureFromError(err)}, false); rerr != nil {
		return nil, rerr
	}
	return result, err
}

// recordSideEffect records a side effect's event and returns, replaying,
// the recorded result.
func (r *runEnv) recordSideEffect(ev history.Event, replaying bool) ([]byte, error) {
	out, err := r.recordEntered(ev)
	if err != nil {
		return nil, err
	}
	if !replaying {
		return ev.Result, nil
	}
	return out.Result, ErrorFromFailure(out.Failure)
}

// recordEntered records an event from workflow code and parks the code
// for good if the run cannot take it.
func (r *runEnv) recordEntered(ev history.Event) (history.Event, error) {
	if !r.enter() {
		return ev, errDropped
	}
	if r.inQuery {
		r.leave()
		panic("workflow: a query handler must not change the workflow's state (schedule work, cancel, start coroutines)")
	}
	out, ok := r.exec().record(ev)
	err := r.err
	r.leave()
	if !ok {
		r.stop()
		return out, err
	}
	return out, nil
}

func (r *runEnv) UpsertSearchAttributes(attrs map[string]string) error {
	if !r.enter() {
		return errDropped
	}
	inQuery := r.inQuery
	r.leave()
	if inQuery {
		panic("workflow: a query handler must not upsert search attributes")
	}
	_, err := r.recordEntered(history.Event{Kind: history.SearchAttributesUpserted, SearchAttributes: maps.Clone(attrs)})
	return err
}

func (r *runEnv) GetVersion(changeID string, minSupported, maxSupported int) int {
	v, ok := r.getVersionEntered(changeID, minSupported, maxSupported)
	if !ok {
		r.stop()
	}
	return v
}

// getVersionEntered is GetVersion; it reports false when the run cannot go
// on (the code must be stopped).
func (r *runEnv) getVersionEntered(changeID string, minSupported, maxSupported int) (int, bool) {
	if !r.enter() {
		return maxSupported, true
	}
	defer r.leave()
	if v, ok := r.versions[changeID]; ok {
		return v, true
	}
	e := r.exec()
	v := maxSupported
	var h *history.Event // the history's event where a marker would be
	if r.replaying && r.pos < len(r.replay) {
		h = &r.replay[r.pos]
	}
	switch {
	case !r.replaying:
		if _, ok := e.record(history.Event{Kind: history.VersionMarker, Name: changeID, Version: v}); !ok {
			return v, false
		}
	case h != nil && h.Kind == history.VersionMarker && h.Name == changeID:
		if v = h.Version; v < minSupported || v > maxSupported {
			break
		}
		if _, ok := e.record(history.Event{Kind: history.VersionMarker, Name: changeID}); !ok {
			return v, false
		}
	default:
		// The run passed this point before the change existed.
		v = workflow.DefaultVersion
	}
	if v < minSupported || v > maxSupported {
		detail := fmt.Sprintf("the history records version %d of change %q, but the code supports only versions %d to %d",
			v, changeID, minSupported, maxSupported)
		if v == workflow.DefaultVersion {
			detail = fmt.Sprintf("the run passed change %q before it existed (version %d), but the code supports only versions %d to %d",
				changeID, v, minSupported, maxSupported)
		}
		e.fail(e.nondeterminism(h, &history.Event{Kind: history.VersionMarker, Name: changeID}, detail))
		return v, false
	}
	r.versions[changeID] = v
	return v, true
}

func (r *runEnv) SignalChannel(name string, create func() (any, func([]byte))) any {
	if !r.enter() {
		// A channel of its own, which nothing feeds.
		ch, _ := create()
		return ch
	}
	s := r.signals[name]
	if s == nil {
		s = &signalState{}
		r.signals[name] = s
	}
	if s.ch != nil {
		r.leave()
		return s.ch
	}
	s.ch, s.sink = create()
	pending, sink := s.pending, s.sink
	s.pending = nil
	r.leave()
	// The sink decodes (which may fetch a stored payload): outside
	// enter/leave.
	for _, p := range pending {
		sink(p)
	}
	return s.ch
}

func (r *runEnv) SetQueryHandler(name string, handler reflect.Value) {
	if !r.enter() {
		return
	}
	defer r.leave()
	r.queries[name] = handler
}

// Header runs the context propagators' InjectFromWorkflow on ctx.
func (r *runEnv) Header(ctx any) (map[string][]byte, error) {
	if len(r.opts.ContextPropagators) == 0 {
		return nil, nil
	}
	h := map[string][]byte{}
	for _, p := range r.opts.ContextPropagators {
		if err := p.InjectFromWorkflow(ctx.(workflow.Context), h); err != nil {
			return nil, err
		}
	}
	if len(h) == 0 {
		return nil, nil
	}
	return h, nil
}

// WorkflowFunc is nil for the catch-all workflow, whose parameters say
// nothing about the arguments its runs take.
func (r *runEnv) WorkflowFunc() reflect.Type {
	if r.dynamic {
		return nil
	}
	return r.fn.Type()
}
