package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
)

// InstanceInfo is what the registry knows of an instance: its current run
// and how that run stands. Its JSON form is meant for CLIs and UIs.
type InstanceInfo struct {
	InstanceID   string `json:"instance_id"`
	WorkflowName string `json:"workflow"`
	Queue        string `json:"queue"`
	// ExecutionID is the current (latest) run.
	ExecutionID string `json:"execution_id"`
	// Runs lists the earlier runs, oldest first: runs that continued as
	// new, and finished runs whose instance ID was reused. It holds the
	// newest streams.MaxListedRuns; EarlierRuns counts the runs before.
	Runs        []string       `json:"runs,omitempty"`
	EarlierRuns int            `json:"earlier_runs,omitempty"`
	Status      streams.Status `json:"status"`
	// Parent is the run that started this instance as a sub-workflow.
	Parent *history.Parent `json:"parent,omitempty"`

	// CreatedAt is when the current run was started.
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`

	// EncodedResult is the result of a completed run as the converter
	// encoded it (decode it with GetWorkflowResult or DecodePayload);
	// Result is the same decoded for display (see DisplayPayload).
	EncodedResult []byte `json:"-"`
	Result        any    `json:"result,omitempty"`
	// Failure is the error of a failed run, or the reason of a
	// terminated one (in Message).
	Failure *history.Failure `json:"failure,omitempty"`

	// HistoryEvents and HistoryBytes measure the current run's history:
	// in a list, as the worker recorded when the run ended; in a
	// description, as read now. A run fails when its history outgrows the
	// worker's MaxHistoryLength, so a long-lived workflow should continue
	// as new well before that.
	HistoryEvents int `json:"history_events,omitempty"`
	HistoryBytes  int `json:"history_bytes,omitempty"`

	// EncodedMemo is the memo given at start (WorkflowInstanceOptions.Memo)
	// as the converter encoded it; Memo the same decoded for display.
	EncodedMemo map[string][]byte `json:"-"`
	Memo        map[string]any    `json:"memo,omitempty"`
	// SearchAttributes are the instance's keyword attributes
	// (WorkflowInstanceOptions.SearchAttributes).
	SearchAttributes map[string]string `json:"search_attributes,omitempty"`
	// StartAt is when a delayed start (WorkflowInstanceOptions.StartDelay)
	// starts the current run; zero for a start at once.
	StartAt time.Time `json:"start_at,omitzero"`
}

// InstanceDescription is an instance's registry entry together with what
// the history of its current run says: input, and the work the run waits
// for. Its JSON form is meant for CLIs and UIs.
type InstanceDescription struct {
	InstanceInfo

	// StartedAt is the time of the run's WorkflowStarted event; zero when
	// no worker has taken the run up yet.
	StartedAt time.Time `json:"started_at,omitzero"`
	// ContinuedExecutionID is the run this run continues, if it was
	// started by continue-as-new.
	ContinuedExecutionID string `json:"continued_execution_id,omitempty"`
	// EncodedInput are the run's arguments as encoded; Input the same
	// decoded for display.
	EncodedInput [][]byte `json:"-"`
	Input        []any    `json:"input,omitempty"`
	// HistoryLength is the number of events in the run's history now, and
	// LastEventAt the time of its last event.
	HistoryLength int       `json:"history_length"`
	LastEventAt   time.Time `json:"last_event_at,omitzero"`
	// Ended is the kind of the run's final event when its history has one
	// (it can show an end the registry does not have yet).
	Ended history.Kind `json:"ended,omitempty"`

	// Pending is the work the run waits for; empty once the run ended.
	Pending PendingWork `json:"pending"`
}

// PendingWork is what a run has asked for and not yet got, from its
// history: commands without an answer.
type PendingWork struct {
	Activities   []PendingActivity    `json:"activities,omitempty"`
	Timers       []PendingTimer       `json:"timers,omitempty"`
	SubWorkflows []PendingSubWorkflow `json:"sub_workflows,omitempty"`
	// Signals are signals the run sends to other instances that are not
	// delivered yet.
	Signals []PendingSignal `json:"signals,omitempty"`
	// CancelRequested reports that the run has been asked to cancel.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Updates are the accepted updates whose handlers are running.
	Updates []PendingUpdate `json:"updates,omitempty"`
}

// PendingUpdate is an accepted update whose handler has not returned.
type PendingUpdate struct {
	// AcceptedID is the ID of the UpdateAccepted event.
	AcceptedID int64     `json:"accepted_id"`
	Name       string    `json:"name"`
	UpdateID   string    `json:"update_id"`
	AcceptedAt time.Time `json:"accepted_at"`
}

// Empty reports whether the run waits for nothing.
func (p PendingWork) Empty() bool {
	return len(p.Activities) == 0 && len(p.Timers) == 0 && len(p.SubWorkflows) == 0 && len(p.Signals) == 0 && len(p.Updates) == 0
}

// PendingActivity is an activity scheduled and not answered. The current
// attempt number lives with the activity task in JetStream, not in the
// history; MaxAttempts says how many the retry policy allows.
type PendingActivity struct {
	// ScheduleID is the ID of the ActivityScheduled event.
	ScheduleID  int64     `json:"schedule_id"`
	Name        string    `json:"name"`
	Queue       string    `json:"queue,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at"`
	// MaxAttempts is the retry policy's limit: history.UnlimitedAttempts
	// (-1) for none (retried until its timeouts), 0 for one attempt (a
	// history written before retries became the default).
	MaxAttempts int                      `json:"max_attempts,omitempty"`
	Options     *history.ActivityOptions `json:"options,omitempty"`
	// CancelRequested reports that the workflow asked to cancel it.
	CancelRequested bool `json:"cancel_requested,omitempty"`
}

// PendingTimer is a timer scheduled and neither fired nor canceled.
type PendingTimer struct {
	// TimerID is the ID of the TimerScheduled event.
	TimerID     int64     `json:"timer_id"`
	ScheduledAt time.Time `json:"scheduled_at"`
	FireAt      time.Time `json:"fire_at"`
}

// PendingSubWorkflow is a sub-workflow started and not ended.
type PendingSubWorkflow struct {
	// ScheduleID is the ID of the SubWorkflowScheduled event.
	ScheduleID  int64     `json:"schedule_id"`
	Name        string    `json:"name"`
	InstanceID  string    `json:"instance_id,omitempty"`
	Queue       string    `json:"queue,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at"`
	// CancelRequested reports that the workflow asked to cancel it.
	CancelRequested bool `json:"cancel_requested,omitempty"`
}

// PendingSignal is a signal to another instance not yet delivered.
type PendingSignal struct {
	// ScheduleID is the ID of the SignalWorkflowScheduled event.
	ScheduleID  int64     `json:"schedule_id"`
	Name        string    `json:"name"`
	InstanceID  string    `json:"instance_id"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

// DescribeWorkflowInstance describes an instance: its registry entry, and
// from the history of its current run the input and the pending work
// (activities, timers, sub-workflows and signals without an answer, and
// whether cancellation was requested). An unknown instance gives
// ErrInstanceNotFound.
func (c *Client) DescribeWorkflowInstance(ctx context.Context, instanceID string) (*InstanceDescription, error) {
	if _, err := streams.EncodeInstanceID(instanceID); err != nil {
		return nil, fmt.Errorf("client: describe: %w", err)
	}
	rec, err := c.getRecord(ctx, instanceID)
	if err != nil {
		return nil, fmt.Errorf("client: describe: %w", err)
	}
	h, err := c.b.ReadHistory(ctx, instanceID, rec.ExecutionID)
	if err != nil {
		return nil, fmt.Errorf("client: describe instance %q: read history of run %q: %w", instanceID, rec.ExecutionID, err)
	}
	d := &InstanceDescription{InstanceInfo: *c.instanceInfo(rec)}
	events := h.Events()
	d.HistoryLength = len(events)
	d.HistoryEvents, d.HistoryBytes = len(events), h.Bytes
	if len(events) > 0 {
		d.LastEventAt = events[len(events)-1].Time
	}
	for i := range events {
		e := &events[i]
		if e.Kind == history.WorkflowStarted && d.StartedAt.IsZero() {
			d.StartedAt = e.StartTime()
			d.ContinuedExecutionID = e.ContinuedExecutionID
			d.EncodedInput = e.Args
			d.Input = c.displayPayloads(e.Args)
		}
		if e.Kind.Final() && d.Ended == history.KindInvalid {
			d.Ended = e.Kind
		}
	}
	d.Pending = pendingWork(events)
	return d, nil
}

// instanceInfo turns a registry entry into an InstanceInfo.
func (c *Client) instanceInfo(rec *streams.InstanceRecord) *InstanceInfo {
	info := &InstanceInfo{
		InstanceID:    rec.InstanceID,
		WorkflowName:  rec.WorkflowName,
		Queue:         rec.Queue,
		ExecutionID:   rec.ExecutionID,
		Runs:          rec.Runs,
		EarlierRuns:   rec.EarlierRuns,
		Status:        rec.Status,
		Parent:        rec.Parent,
		CreatedAt:     rec.CreatedAt,
		UpdatedAt:     rec.UpdatedAt,
		FinishedAt:    rec.FinishedAt,
		EncodedResult: rec.Result,
		Failure:       rec.Failure,
		HistoryEvents: rec.HistoryEvents,

		SearchAttributes: rec.SearchAttributes,
		StartAt:          rec.StartAt,
	}
	if len(rec.Result) > 0 {
		info.Result = c.DisplayPayload(rec.Result)
	}
	if len(rec.Memo) > 0 {
		info.EncodedMemo = rec.Memo
		info.Memo = make(map[string]any, len(rec.Memo))
		for k, v := range rec.Memo {
			info.Memo[k] = c.DisplayPayload(v)
		}
	}
	return info
}

// pendingWork finds the commands of a run's events that have no answer.
func pendingWork(events []history.Event) PendingWork {
	var (
		p      PendingWork
		acts   = map[int64]*PendingActivity{}
		timers = map[int64]*PendingTimer{}
		subs   = map[int64]*PendingSubWorkflow{}
		sigs   = map[int64]*PendingSignal{}
		upds   = map[int64]*PendingUpdate{}
		ended  bool
	)
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case history.ActivityScheduled:
			a := &PendingActivity{ScheduleID: e.ID, Name: e.Name, Queue: e.Queue, ScheduledAt: e.Time, Options: e.Activity}
			if e.Activity != nil {
				a.MaxAttempts = e.Activity.MaxAttempts
			}
			acts[e.ID] = a
		case history.ActivityCompleted, history.ActivityFailed:
			delete(acts, e.ScheduleID)
		case history.ActivityCancelRequested:
			if a := acts[e.ScheduleID]; a != nil {
				a.CancelRequested = true
			}
		case history.TimerScheduled:
			timers[e.ID] = &PendingTimer{TimerID: e.ID, ScheduledAt: e.Time, FireAt: e.FireAt}
		case history.TimerFired, history.TimerCanceled:
			delete(timers, e.ScheduleID)
		case history.SubWorkflowScheduled:
			subs[e.ID] = &PendingSubWorkflow{ScheduleID: e.ID, Name: e.Name, InstanceID: e.InstanceID, Queue: e.Queue, ScheduledAt: e.Time}
		case history.SubWorkflowCompleted, history.SubWorkflowFailed:
			delete(subs, e.ScheduleID)
		case history.SubWorkflowCancelRequested:
			if s := subs[e.ScheduleID]; s != nil {
				s.CancelRequested = true
			}
		case history.SignalWorkflowScheduled:
			sigs[e.ID] = &PendingSignal{ScheduleID: e.ID, Name: e.Name, InstanceID: e.InstanceID, ScheduledAt: e.Time}
		case history.SignalDelivered:
			delete(sigs, e.ScheduleID)
		case history.CancelRequested:
			p.CancelRequested = true
		case history.UpdateAccepted:
			upds[e.ID] = &PendingUpdate{AcceptedID: e.ID, Name: e.Name, UpdateID: e.UpdateID, AcceptedAt: e.Time}
		case history.UpdateCompleted:
			delete(upds, e.ScheduleID)
		}
		if e.Kind.Final() {
			ended = true
		}
	}
	if ended {
		return p
	}
	p.Activities = inIDOrder(acts)
	p.Timers = inIDOrder(timers)
	p.SubWorkflows = inIDOrder(subs)
	p.Signals = inIDOrder(sigs)
	p.Updates = inIDOrder(upds)
	return p
}

// inIDOrder returns the values of m ordered by key.
func inIDOrder[T any](m map[int64]*T) []T {
	if len(m) == 0 {
		return nil
	}
	out := make([]T, 0, len(m))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[id])
	}
	return out
}

// ListOptions filter and page ListWorkflowInstances.
type ListOptions struct {
	// Status keeps only instances whose current run has this status
	// ("" for all).
	Status streams.Status
	// WorkflowName keeps only instances of this workflow ("" for all).
	WorkflowName string
	// IDContains keeps only instances whose ID contains it, ignoring case
	// ("" for all).
	IDContains string
	// SearchAttributes keeps only instances that have every one of these
	// pairs, exactly (nil for all); a value may not be empty. The list
	// reads the index rows of the first pair (by key), newest first by
	// when that pair was set.
	SearchAttributes map[string]string
	// Limit is the page size: 100 when zero, at most 10,000.
	Limit int
	// Cursor is the previous page's NextCursor; empty for the first page.
	Cursor string
}

// InstancePage is one page of ListWorkflowInstances.
type InstancePage struct {
	// Instances, newest first: by when their current run started or,
	// for a finished one, finished (the list index's order; an IDContains
	// search orders by start).
	Instances []*InstanceInfo `json:"instances"`
	// NextCursor fetches the next page (ListOptions.Cursor); empty on
	// the last page.
	NextCursor string `json:"next_cursor,omitempty"`
	// Counts holds how many instances have each status, over all
	// instances of the workflow and ID filters (the status filter aside).
	Counts map[streams.Status]int `json:"counts"`
}

// ListWorkflowInstances lists instances newest first, filtered by status
// and workflow name, a page at a time. Paging is stable: instances started
// after the first page do not shift later pages.
func (c *Client) ListWorkflowInstances(ctx context.Context, opts ListOptions) (*InstancePage, error) {
	p, err := c.b.ListInstances(ctx, streams.ListOptions{
		Status:       opts.Status,
		WorkflowName: opts.WorkflowName,
		IDContains:   opts.IDContains,

		SearchAttributes: opts.SearchAttributes,
		Limit:            opts.Limit,
		After:            opts.Cursor,
	})
	if err != nil {
		return nil, fmt.Errorf("client: list workflow instances: %w", err)
	}
	page := &InstancePage{
		Instances:  make([]*InstanceInfo, len(p.Instances)),
		NextCursor: p.NextCursor,
		Counts:     p.Counts,
	}
	for i, rec := range p.Instances {
		page.Instances[i] = c.instanceInfo(rec)
	}
	return page, nil
}
