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

func (r *runEnv) Go(fn func()) {
	if r.inQuery {
		panic("workflow: a query handler must not start coroutines")
	}
	r.coroutines++
	r.sched.Spawn("workflow.Go #"+strconv.Itoa(r.coroutines), fn)
}

func (r *runEnv) Now() time.Time { return r.now }

func (r *runEnv) Replaying() bool { return r.replaying }

func (r *runEnv) Logger() *slog.Logger { return r.logger }

func (r *runEnv) Info() wfenv.Info {
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
	if err != nil && !r.inQuery && errors.Is(err, sentinel.PayloadUnavailable) {
		r.exec().fail(fmt.Errorf("workflow %s: %w", r.workflowName, err))
	}
	return err
}

func (r *runEnv) exec() *Executor { return (*Executor)(r) }

// schedule records a command and remembers it until its answer comes.
// On replay, a command where the history has a hole (see
// Executor.dropped) takes the hole's ID without a history event: the run
// canceled it before its task committed, and the code must do so again.
func (r *runEnv) schedule(ev history.Event, done wfenv.Callback, waitCancel bool) int64 {
	e := r.exec()
	if e.err == nil && !e.inQuery && e.dropped() {
		e.lastID++
		ev.ID, ev.Time = e.lastID, e.now
		r.pending[ev.ID] = &command{event: ev, done: done, waitCancel: waitCancel, hole: true}
		e.holes = append(e.holes, ev.ID)
		return ev.ID
	}
	out, ok := e.record(ev)
	if !ok {
		return 0
	}
	c := &command{event: out, done: done, waitCancel: waitCancel}
	if !e.replaying {
		c.unsent = true
		e.unsent = append(e.unsent, out.ID)
	}
	r.pending[out.ID] = c
	return out.ID
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
	return r.schedule(history.Event{Kind: history.TimerScheduled, FireAt: r.now.Add(d)}, done, false)
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
		id = run + "-" + strconv.FormatInt(r.lastID+1, 10)
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
	c := r.pending[id]
	if c == nil || c.cancelRequested {
		return
	}
	if c.unsent || c.hole {
		r.drop(c)
		return
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
		return
	}
	// The target's name and instance travel along, so the worker can act on
	// the cancel from this event alone.
	if _, ok := r.exec().record(history.Event{Kind: kind, ScheduleID: id, Name: c.event.Name, InstanceID: c.event.InstanceID}); !ok {
		return
	}
	c.cancelRequested = true
	if c.waitCancel {
		return
	}
	delete(r.pending, id)
	c.done(nil, workflow.Canceled)
}

func (r *runEnv) SideEffect(fn func() ([]byte, error)) ([]byte, error) {
	if r.replaying {
		ev, ok := r.exec().record(history.Event{Kind: history.SideEffectRecorded})
		if !ok {
			return nil, r.err
		}
		return ev.Result, ErrorFromFailure(ev.Failure)
	}
	if r.inQuery {
		panic("workflow: a query handler must not record side effects")
	}
	result, err := fn()
	r.exec().record(history.Event{Kind: history.SideEffectRecorded, Result: result, Failure: FailureFromError(err)})
	return result, err
}

func (r *runEnv) UpsertSearchAttributes(attrs map[string]string) error {
	if r.inQuery {
		panic("workflow: a query handler must not upsert search attributes")
	}
	if _, ok := r.exec().record(history.Event{Kind: history.SearchAttributesUpserted, SearchAttributes: maps.Clone(attrs)}); !ok {
		return r.err
	}
	return nil
}

func (r *runEnv) GetVersion(changeID string, minSupported, maxSupported int) int {
	if v, ok := r.versions[changeID]; ok {
		return v
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
			return v
		}
	case h != nil && h.Kind == history.VersionMarker && h.Name == changeID:
		if v = h.Version; v < minSupported || v > maxSupported {
			break
		}
		if _, ok := e.record(history.Event{Kind: history.VersionMarker, Name: changeID}); !ok {
			return v
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
		if r.sched.Running() {
			r.sched.BlockForever()
		}
		return v
	}
	r.versions[changeID] = v
	return v
}

func (r *runEnv) SignalChannel(name string, create func() (any, func([]byte))) any {
	s := r.signals[name]
	if s == nil {
		s = &signalState{}
		r.signals[name] = s
	}
	if s.ch != nil {
		return s.ch
	}
	s.ch, s.sink = create()
	for _, p := range s.pending {
		s.sink(p)
	}
	s.pending = nil
	return s.ch
}

func (r *runEnv) SetQueryHandler(name string, handler reflect.Value) {
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
