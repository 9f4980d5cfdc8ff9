package diag

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jetflow/jetflow/history"
)

// eventView is one event of the history timeline.
type eventView struct {
	ID   int64
	Kind string
	// Group colours the event: workflow, activity, timer, signal, child,
	// marker, cancel, done, failed.
	Group  string
	Offset string
	Time   time.Time
	// Title names what the event is about (an activity, a signal...);
	// Detail adds a line of plain text.
	Title  string
	Detail string
	// Ref is the event this one answers (its ScheduleID); Took the time
	// since that event.
	Ref  int64
	Took string
	// Link is the instance the event concerns (a child, a signal's target,
	// the parent).
	Link      *instanceLink
	LinkLabel string
	Fields    []field
	Failure   *history.Failure
}

// field is a labelled value of an event: text, or JSON. Long JSON is
// collapsed under a summary; Key names its <details> element, so an open
// one stays open on live updates.
type field struct {
	Label     string
	Value     string
	JSON      bool
	Collapsed bool
	Summary   string
	Key       string
}

// collapseLines is how many lines of JSON an event shows before it
// collapses them.
const collapseLines = 8

// jsonField makes a field showing a decoded payload.
func jsonField(label string, v any, key string) field {
	f := field{Label: label, Value: displayJSON(v), JSON: true, Key: key}
	if strings.Count(f.Value, "\n") >= collapseLines {
		f.Collapsed = true
		switch v := v.(type) {
		case map[string]any:
			f.Summary = fmt.Sprintf("object · %d %s", len(v), pluralWord(len(v), "field", "fields"))
		case []any:
			f.Summary = fmt.Sprintf("array · %d %s", len(v), pluralWord(len(v), "item", "items"))
		default:
			f.Summary = "value"
		}
	}
	return f
}

// timeline turns a run's events into the history the page shows, and
// finds the sub-workflows the run started. runs lists the instance's runs,
// oldest first, to link a continue-as-new to the next one.
func (s *server) timeline(b, id, run string, events []history.Event, runs []string) ([]eventView, []childView) {
	if len(events) == 0 {
		return nil, nil
	}
	start := events[0].Time
	scheduled := make(map[int64]*history.Event)
	childIndex := make(map[int64]int)
	var children []childView
	out := make([]eventView, 0, len(events))
	for i := range events {
		e := &events[i]
		d := s.c.DecodeEvent(e)
		ev := eventView{
			ID:     e.ID,
			Kind:   e.Kind.String(),
			Group:  groupOf(e.Kind),
			Offset: fmtOffset(e.Time.Sub(start)),
			Time:   e.Time,
			Ref:    e.ScheduleID,
		}
		key := func(label string) string { return fmt.Sprintf("f%d-%s", e.ID, strings.ReplaceAll(label, " ", "-")) }
		var sched *history.Event
		if e.ScheduleID != 0 {
			sched = scheduled[e.ScheduleID]
			if sched != nil {
				ev.Took = fmtDuration(e.Time.Sub(sched.Time))
			}
		}
		schedName := func() string {
			if sched != nil {
				return sched.Name
			}
			return e.Name
		}
		link := func(inst string) *instanceLink {
			if inst == "" {
				return nil
			}
			return &instanceLink{ID: inst, URL: instanceURL(b, inst, "")}
		}
		switch e.Kind {
		case history.WorkflowStarted:
			ev.Title = e.Name
			if e.Queue != "" {
				ev.Detail = "on queue " + e.Queue
			}
			if len(d.Args) > 0 {
				ev.Fields = append(ev.Fields, jsonField("input", argsValue(d.Args), key("input")))
			}
			if e.Parent != nil {
				ev.Link = &instanceLink{ID: e.Parent.InstanceID, Run: e.Parent.ExecutionID, URL: instanceURL(b, e.Parent.InstanceID, e.Parent.ExecutionID)}
				ev.LinkLabel = "parent"
			}
			if e.ContinuedExecutionID != "" {
				ev.Fields = append(ev.Fields, field{Label: "continues run", Value: e.ContinuedExecutionID})
			}
		case history.ActivityScheduled:
			ev.Title = e.Name
			if e.Queue != "" {
				ev.Detail = "on queue " + e.Queue
			}
			if opts := activityOptions(e.Activity, true); opts != "" {
				ev.Detail = joinDetail(ev.Detail, opts)
			}
			if len(d.Args) > 0 {
				ev.Fields = append(ev.Fields, jsonField("args", argsValue(d.Args), key("args")))
			}
		case history.ActivityCompleted, history.SideEffectRecorded, history.SubWorkflowCompleted, history.WorkflowCompleted:
			if e.Kind != history.WorkflowCompleted && e.Kind != history.SideEffectRecorded {
				ev.Title = schedName()
			}
			if d.Result != nil {
				ev.Fields = append(ev.Fields, jsonField("result", d.Result, key("result")))
			}
			ev.Failure = e.Failure
		case history.ActivityFailed, history.SubWorkflowFailed, history.WorkflowFailed:
			if e.Kind != history.WorkflowFailed {
				ev.Title = schedName()
			}
			ev.Failure = e.Failure
		case history.LocalActivityCompleted, history.LocalActivityFailed:
			ev.Title = e.Name
			if e.Local != nil {
				ev.Detail = fmt.Sprintf("local, attempt %d", e.Local.Attempt)
				if e.Local.RetryAfter > 0 {
					ev.Detail += ", retried after " + fmtDuration(e.Local.RetryAfter)
				}
			}
			if d.Result != nil {
				ev.Fields = append(ev.Fields, jsonField("result", d.Result, key("result")))
			}
			ev.Failure = e.Failure
		case history.ActivityCancelRequested, history.SubWorkflowCancelRequested:
			ev.Title = schedName()
		case history.TimerScheduled:
			ev.Title = "timer of " + fmtDuration(e.FireAt.Sub(e.Time))
			ev.Detail = "fires at " + absTime(e.FireAt)
		case history.TimerFired, history.TimerCanceled:
			ev.Title = fmt.Sprintf("timer #%d", e.ScheduleID)
		case history.SignalReceived:
			ev.Title = e.Name
			if len(d.Args) > 0 {
				ev.Fields = append(ev.Fields, jsonField("value", argsValue(d.Args), key("value")))
			}
		case history.UpdateAccepted:
			ev.Title = e.Name
			ev.Detail = "update ID " + e.UpdateID
			if len(d.Args) > 0 {
				ev.Fields = append(ev.Fields, jsonField("args", argsValue(d.Args), key("args")))
			}
		case history.UpdateCompleted:
			ev.Title = e.Name
			ev.Detail = "update ID " + e.UpdateID
			if d.Result != nil {
				ev.Fields = append(ev.Fields, jsonField("result", d.Result, key("result")))
			}
			ev.Failure = e.Failure
		case history.SignalWorkflowScheduled:
			ev.Title = e.Name
			ev.Link, ev.LinkLabel = link(e.InstanceID), "to"
			if len(d.Args) > 0 {
				ev.Fields = append(ev.Fields, jsonField("value", argsValue(d.Args), key("value")))
			}
		case history.SignalDelivered:
			ev.Title = schedName()
			if sched != nil {
				ev.Link, ev.LinkLabel = link(sched.InstanceID), "to"
			}
			ev.Failure = e.Failure
		case history.SubWorkflowScheduled:
			ev.Title = e.Name
			ev.Link, ev.LinkLabel = link(e.InstanceID), "child"
			if len(d.Args) > 0 {
				ev.Fields = append(ev.Fields, jsonField("input", argsValue(d.Args), key("input")))
			}
		case history.VersionMarker:
			ev.Title = e.Name
			ev.Detail = fmt.Sprintf("version %d", e.Version)
		case history.TerminateRequested, history.WorkflowTerminated:
			if e.Reason != "" {
				ev.Fields = append(ev.Fields, field{Label: "reason", Value: e.Reason})
			}
		case history.WorkflowContinuedAsNew:
			if len(d.Args) > 0 {
				ev.Fields = append(ev.Fields, jsonField("next input", argsValue(d.Args), key("next input")))
			}
			if i := slices.Index(runs, run); i >= 0 && i+1 < len(runs) {
				next := runs[i+1]
				ev.Link, ev.LinkLabel = &instanceLink{ID: id, Run: next, URL: instanceURL(b, id, next)}, "next run"
				if i+1 == len(runs)-1 {
					ev.Link.URL = instanceURL(b, id, "")
				}
			}
		}
		// Answers to sub-workflows carry the child's ID on their
		// scheduling event only.
		if (e.Kind == history.SubWorkflowCompleted || e.Kind == history.SubWorkflowFailed || e.Kind == history.SubWorkflowCancelRequested) && sched != nil {
			ev.Link, ev.LinkLabel = link(sched.InstanceID), "child"
		}

		switch e.Kind {
		case history.ActivityScheduled, history.TimerScheduled, history.SubWorkflowScheduled, history.SignalWorkflowScheduled,
			history.UpdateAccepted:
			scheduled[e.ID] = e
		}
		switch e.Kind {
		case history.SubWorkflowScheduled:
			cv := childView{EventID: e.ID, ID: e.InstanceID, Name: e.Name, State: "running"}
			if e.InstanceID != "" {
				cv.URL = instanceURL(b, e.InstanceID, "")
			}
			childIndex[e.ID] = len(children)
			children = append(children, cv)
		case history.SubWorkflowCompleted, history.SubWorkflowFailed, history.SubWorkflowCancelRequested:
			if j, ok := childIndex[e.ScheduleID]; ok {
				switch e.Kind {
				case history.SubWorkflowCompleted:
					children[j].State = "completed"
				case history.SubWorkflowFailed:
					children[j].State = "failed"
				default:
					if children[j].State == "running" {
						children[j].State = "canceling"
					}
				}
			}
		}
		out = append(out, ev)
	}
	return out, children
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + " · " + b
}

// groupOf colours an event by what it is about.
func groupOf(k history.Kind) string {
	switch k {
	case history.ActivityScheduled, history.ActivityCompleted, history.ActivityCancelRequested, history.LocalActivityCompleted:
		return "activity"
	case history.ActivityFailed, history.SubWorkflowFailed, history.WorkflowFailed, history.LocalActivityFailed:
		return "failed"
	case history.TimerScheduled, history.TimerFired, history.TimerCanceled:
		return "timer"
	case history.SignalReceived, history.SignalWorkflowScheduled, history.SignalDelivered,
		history.UpdateAccepted, history.UpdateCompleted:
		return "signal"
	case history.SubWorkflowScheduled, history.SubWorkflowCompleted, history.SubWorkflowCancelRequested:
		return "child"
	case history.SideEffectRecorded, history.VersionMarker:
		return "marker"
	case history.CancelRequested, history.TerminateRequested, history.WorkflowCanceled, history.WorkflowTerminated:
		return "cancel"
	case history.WorkflowCompleted:
		return "done"
	}
	return "workflow"
}
