package diag

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// instanceView is the data of the instance page.
type instanceView struct {
	ID string
	// URL is the page of the instance's current run; PageURL this page.
	URL     string
	PageURL string
	// Run is the run shown; Current reports whether it is the instance's
	// current run, CurrentRun names that.
	Run        string
	Current    bool
	CurrentRun string

	Status      streams.Status
	StatusLabel string
	Workflow    string
	Queue       string

	Created   time.Time
	Started   time.Time
	StartAt   time.Time // a delayed start's time
	Finished  time.Time
	LastEvent time.Time
	// Duration is from start to end, or to now for a running run.
	Duration time.Duration

	HistoryEvents int
	HistoryBytes  int
	// Memo is the instance's memo, by key, each value as JSON.
	Memo []memoEntry
	// SearchAttributes are the instance's search attributes, by key.
	SearchAttributes []memoEntry

	Input      string
	Result     string
	HasResult  bool
	Failure    *history.Failure
	Reason     string
	Unfinished bool // the run ended, but its history does not show how

	Pending       *pendingView
	Parent        *instanceLink
	ContinuedFrom *instanceLink
	Runs          []runLink
	Children      []childView
	Events        []eventView

	// Running reports that the shown run can be acted on.
	Running bool
	Actions *actionsView

	// Token identifies the state shown, for the event stream.
	Token string
}

// memoEntry is one memo value.
type memoEntry struct {
	Key, Value string
}

// instanceLink links another instance or run.
type instanceLink struct {
	ID  string
	Run string
	URL string
}

// runLink is one run of the instance.
type runLink struct {
	ID      string
	URL     string
	Number  int
	Latest  bool
	Shown   bool
	Outcome string
}

// childView is a sub-workflow the run started.
type childView struct {
	EventID int64
	ID      string
	Name    string
	URL     string
	State   string // running, completed, failed, canceling
}

// pendingView is the work the run waits for.
type pendingView struct {
	Activities      []pendingActivityView
	Timers          []pendingTimerView
	SubWorkflows    []pendingChildView
	Signals         []pendingSignalView
	Updates         []client.PendingUpdate
	CancelRequested bool
	Empty           bool
}

type pendingActivityView struct {
	ScheduleID      int64
	Name            string
	Queue           string
	ScheduledAt     time.Time
	MaxAttempts     int
	Options         string
	CancelRequested bool
}

type pendingTimerView struct {
	TimerID     int64
	ScheduledAt time.Time
	FireAt      time.Time
	Length      time.Duration
}

type pendingChildView struct {
	ScheduleID      int64
	Name            string
	ID              string
	URL             string
	Queue           string
	ScheduledAt     time.Time
	CancelRequested bool
}

type pendingSignalView struct {
	ScheduleID  int64
	Name        string
	ID          string
	URL         string
	ScheduledAt time.Time
}

// actionsView holds the URLs and fields of the actions.
type actionsView struct {
	Run          string
	CancelURL    string
	TerminateURL string
	SignalURL    string
	// Confirm*URL are the confirmation pages used without JavaScript.
	ConfirmCancelURL    string
	ConfirmTerminateURL string
	ConfirmSignalURL    string
	// SignalName and SignalValue refill the signal form after a refused
	// signal; SignalError says why, and reopens the dialog.
	SignalName  string
	SignalValue string
	SignalError string
}

// instancePage serves the page of an instance.
func (s *server) instancePage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.instanceID(w, r)
	if !ok {
		return
	}
	run, ok := s.runParam(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	iv, err := s.loadInstance(ctx, r, id, run)
	if err != nil {
		s.instanceError(w, r, id, run, err)
		return
	}
	s.render(w, r, http.StatusOK, "instance", id, iv, s.instanceLive(r, iv), nil)
}

// instanceLive is the event stream and fragment of an instance page that
// shows a current run (an earlier run does not change).
func (s *server) instanceLive(r *http.Request, iv *instanceView) *live {
	if !iv.Current {
		return nil
	}
	b := base(r)
	seg := b + "/instances/" + pathSegment(iv.ID)
	frag := seg + "/fragment"
	if run := r.URL.Query().Get("run"); run != "" {
		frag += "?run=" + url.QueryEscape(run)
	}
	return &live{Events: seg + "/events?v=" + url.QueryEscape(iv.Token), Fragment: frag}
}

// instanceFragment serves the live part of an instance page.
func (s *server) instanceFragment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := streams.EncodeInstanceID(id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	run := r.URL.Query().Get("run")
	if run != "" && streams.CheckExecutionID(run) != nil {
		http.Error(w, "invalid run", http.StatusBadRequest)
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	iv, err := s.loadInstance(ctx, r, id, run)
	if err != nil {
		http.Error(w, err.Error(), statusOf(err))
		return
	}
	s.renderFragment(w, r, "instance", "instance-live", iv)
}

// runParam reads and checks the ?run= of the request.
func (s *server) runParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	run := r.URL.Query().Get("run")
	if run == "" {
		return "", true
	}
	if err := streams.CheckExecutionID(run); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Invalid run", fmt.Sprintf("The run parameter %q is not an execution ID: %v", truncate(run, 100), err))
		return "", false
	}
	return run, true
}

// instanceError writes the page of an instance that could not be shown.
func (s *server) instanceError(w http.ResponseWriter, r *http.Request, id, run string, err error) {
	status := statusOf(err)
	switch {
	case status == http.StatusNotFound && run != "" && errors.Is(err, client.ErrExecutionNotFound):
		s.errorPage(w, r, status, "Run not found",
			fmt.Sprintf("Workflow instance %q has no run %q. It may have been removed and started again.", id, run))
	case status == http.StatusNotFound:
		s.errorPage(w, r, status, "Instance not found",
			fmt.Sprintf("There is no workflow instance %q in namespace %q. It may never have existed, or it was removed.", id, s.b.Namespace()))
	default:
		s.log.Error("show instance", logkey.Instance, id, logkey.Execution, run, logkey.Err, err)
		s.errorPage(w, r, status, "Cannot show the instance", err.Error())
	}
}

// loadInstance reads what the page of an instance shows: the current run,
// or the run named (one of its earlier runs).
func (s *server) loadInstance(ctx context.Context, r *http.Request, id, run string) (*instanceView, error) {
	// The revision is read first: a change after it makes the event
	// stream notice a difference, never hide one.
	rec, err := s.b.GetInstance(ctx, id)
	if err != nil {
		return nil, err
	}
	d, err := s.c.DescribeWorkflowInstance(ctx, id)
	if err != nil {
		return nil, err
	}
	if run != "" && run != d.ExecutionID && !slices.Contains(d.Runs, run) {
		return nil, fmt.Errorf("%w: instance %q has no run %q", client.ErrExecutionNotFound, id, run)
	}
	current := run == "" || run == d.ExecutionID
	if current {
		run = d.ExecutionID
	}
	h, err := s.c.GetWorkflowHistory(ctx, &workflow.Instance{InstanceID: id, ExecutionID: run})
	if err != nil {
		return nil, err
	}
	b := base(r)
	now := time.Now()
	iv := &instanceView{
		ID:         id,
		URL:        instanceURL(b, id, ""),
		Run:        run,
		Current:    current,
		CurrentRun: d.ExecutionID,
		Token:      fmt.Sprintf("%d-%d", rec.Revision, h.LastSeq),
	}
	iv.PageURL = iv.URL
	if !current {
		iv.PageURL = instanceURL(b, id, run)
	}

	events := h.Events
	var started, final *history.Event
	for i := range events {
		e := &events[i]
		if e.Kind == history.WorkflowStarted && started == nil {
			started = e
		}
		if e.Kind.Final() && final == nil {
			final = e
		}
	}

	if current {
		iv.Status = d.Status
		if final != nil && d.Status == streams.StatusRunning {
			iv.Status = streams.StatusOf(final.Kind) // the registry has not caught up yet
		}
		iv.Workflow, iv.Queue = d.WorkflowName, d.Queue
		iv.Created, iv.Started, iv.Finished = d.CreatedAt, d.StartedAt, d.FinishedAt
		iv.StartAt = d.StartAt
		iv.HistoryEvents, iv.HistoryBytes = len(events), d.HistoryBytes
		for _, k := range slices.Sorted(maps.Keys(d.SearchAttributes)) {
			iv.SearchAttributes = append(iv.SearchAttributes, memoEntry{Key: k, Value: d.SearchAttributes[k]})
		}
		for _, k := range slices.Sorted(maps.Keys(d.Memo)) {
			iv.Memo = append(iv.Memo, memoEntry{Key: k, Value: prettyJSON(d.Memo[k])})
		}
		if d.Parent != nil {
			iv.Parent = &instanceLink{ID: d.Parent.InstanceID, Run: d.Parent.ExecutionID, URL: instanceURL(b, d.Parent.InstanceID, d.Parent.ExecutionID)}
		}
		if final == nil {
			if d.Result != nil {
				iv.Result, iv.HasResult = prettyJSON(d.Result), true
			}
			if d.Failure != nil {
				if iv.Status == streams.StatusTerminated {
					iv.Reason = d.Failure.Message
				} else {
					iv.Failure = d.Failure
				}
			}
		}
		iv.Pending = pendingOf(b, d.Pending)
	} else {
		iv.Status = streams.StatusRunning
		iv.Unfinished = true
		if final != nil {
			iv.Status, iv.Unfinished = streams.StatusOf(final.Kind), false
		}
		iv.HistoryEvents = len(events)
		if started != nil {
			iv.Workflow, iv.Queue = started.Name, started.Queue
			iv.Created = started.Time
			iv.Started = started.Time
			if started.Parent != nil {
				p := started.Parent
				iv.Parent = &instanceLink{ID: p.InstanceID, Run: p.ExecutionID, URL: instanceURL(b, p.InstanceID, p.ExecutionID)}
			}
		}
		iv.Pending = &pendingView{Empty: true}
	}
	iv.StatusLabel = statusLabel(iv.Status)
	if started != nil {
		iv.Input = argsJSON(s.c.DecodeEvent(started).Args)
		if started.ContinuedExecutionID != "" {
			iv.ContinuedFrom = &instanceLink{ID: id, Run: started.ContinuedExecutionID, URL: instanceURL(b, id, started.ContinuedExecutionID)}
		}
	}
	if final != nil {
		iv.Finished = final.Time
		switch final.Kind {
		case history.WorkflowCompleted:
			if len(final.Result) > 0 {
				iv.Result, iv.HasResult = prettyJSON(s.c.DisplayPayload(final.Result)), true
			}
		case history.WorkflowFailed:
			iv.Failure = final.Failure
		case history.WorkflowTerminated:
			iv.Reason = final.Reason
		}
	}
	if len(events) > 0 {
		iv.LastEvent = events[len(events)-1].Time
	}
	from := iv.Started
	if from.IsZero() {
		from = iv.Created
	}
	switch {
	case !iv.Finished.IsZero() && !from.IsZero():
		iv.Duration = iv.Finished.Sub(from)
	case iv.Status == streams.StatusRunning && !from.IsZero():
		iv.Duration = now.Sub(from)
	}

	// Runs, oldest first; the current run last.
	all := append(append([]string(nil), d.Runs...), d.ExecutionID)
	if len(all) > 1 {
		for i, x := range all {
			rl := runLink{ID: x, Number: d.EarlierRuns + i + 1, Latest: x == d.ExecutionID, Shown: x == run}
			if rl.Latest {
				rl.URL = iv.URL
			} else {
				rl.URL = instanceURL(b, id, x)
			}
			iv.Runs = append(iv.Runs, rl)
		}
	}

	iv.Events, iv.Children = s.timeline(b, id, run, events, all)
	iv.Running = current && iv.Status == streams.StatusRunning
	if iv.Running {
		iv.Actions = actionsOf(b, id, run)
	}
	return iv, nil
}

// actionsOf builds the URLs of the actions on a run.
func actionsOf(b, id, run string) *actionsView {
	seg := b + "/instances/" + pathSegment(id)
	confirm := func(action string) string {
		return seg + "/confirm?action=" + action + "&run=" + url.QueryEscape(run)
	}
	return &actionsView{
		Run:                 run,
		CancelURL:           seg + "/cancel",
		TerminateURL:        seg + "/terminate",
		SignalURL:           seg + "/signal",
		ConfirmCancelURL:    confirm("cancel"),
		ConfirmTerminateURL: confirm("terminate"),
		ConfirmSignalURL:    confirm("signal"),
	}
}

// pendingOf turns the pending work of a description into what the page
// shows.
func pendingOf(b string, p client.PendingWork) *pendingView {
	pv := &pendingView{CancelRequested: p.CancelRequested, Empty: p.Empty()}
	for _, a := range p.Activities {
		pv.Activities = append(pv.Activities, pendingActivityView{
			ScheduleID: a.ScheduleID, Name: a.Name, Queue: a.Queue, ScheduledAt: a.ScheduledAt,
			MaxAttempts: a.MaxAttempts, Options: activityOptions(a.Options, false), CancelRequested: a.CancelRequested,
		})
	}
	for _, t := range p.Timers {
		pv.Timers = append(pv.Timers, pendingTimerView{TimerID: t.TimerID, ScheduledAt: t.ScheduledAt, FireAt: t.FireAt, Length: t.FireAt.Sub(t.ScheduledAt)})
	}
	for _, c := range p.SubWorkflows {
		pc := pendingChildView{ScheduleID: c.ScheduleID, Name: c.Name, ID: c.InstanceID, Queue: c.Queue, ScheduledAt: c.ScheduledAt, CancelRequested: c.CancelRequested}
		if c.InstanceID != "" {
			pc.URL = instanceURL(b, c.InstanceID, "")
		}
		pv.SubWorkflows = append(pv.SubWorkflows, pc)
	}
	for _, sg := range p.Signals {
		pv.Signals = append(pv.Signals, pendingSignalView{ScheduleID: sg.ScheduleID, Name: sg.Name, ID: sg.InstanceID, URL: instanceURL(b, sg.InstanceID, ""), ScheduledAt: sg.ScheduledAt})
	}
	pv.Updates = p.Updates
	return pv
}

// activityOptions sums up an activity's options in a line; the number of
// attempts only when attempts is set.
func activityOptions(o *history.ActivityOptions, attempts bool) string {
	if o == nil {
		return ""
	}
	var parts []string
	if attempts && o.MaxAttempts > 0 {
		parts = append(parts, fmt.Sprintf("up to %d %s", o.MaxAttempts, pluralWord(o.MaxAttempts, "attempt", "attempts")))
	}
	if attempts && o.MaxAttempts < 0 {
		parts = append(parts, "attempts until its timeouts")
	}
	if o.FirstRetryInterval > 0 {
		retry := "retry after " + fmtDuration(o.FirstRetryInterval)
		if o.BackoffCoefficient > 1 {
			retry += fmt.Sprintf(" ×%g", o.BackoffCoefficient)
		}
		if o.MaxRetryInterval > 0 {
			retry += ", at most " + fmtDuration(o.MaxRetryInterval)
		}
		parts = append(parts, retry)
	}
	if o.StartToClose > 0 {
		parts = append(parts, "start-to-close "+fmtDuration(o.StartToClose))
	}
	if o.ScheduleToClose > 0 {
		parts = append(parts, "schedule-to-close "+fmtDuration(o.ScheduleToClose))
	}
	if o.Heartbeat > 0 {
		parts = append(parts, "heartbeat "+fmtDuration(o.Heartbeat))
	}
	if o.RetryTimeout > 0 {
		parts = append(parts, "retry timeout "+fmtDuration(o.RetryTimeout))
	}
	if o.WaitForCancellation {
		parts = append(parts, "waits for cancellation")
	}
	return strings.Join(parts, " · ")
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
