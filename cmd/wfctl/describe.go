package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

func describeCommand() *command {
	var asJSON bool
	return &command{
		name:    "describe",
		args:    "ID",
		minArgs: 1, maxArgs: 1,
		summary: "show an instance: status, run, times, input, result or error, pending work",
		description: `
Describe the instance ID: its workflow and queue, the status of its current
run, when it started and ended, its input, its result or error, and the
work it waits for (activities, timers, sub-workflows, signals to other
instances, a requested cancel).`,
		examples: []string{
			`wfctl describe order-42`,
			`wfctl describe order-42 --json | jq .pending`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "write the description as JSON")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id := args[0]
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			d, err := c.DescribeWorkflowInstance(ctx, id)
			if err != nil {
				return a.instanceError("describe", id, err)
			}
			if asJSON {
				return writeJSON(a.stdout, d)
			}
			return printDescription(a.stdout, d, time.Now())
		},
	}
}

// printDescription writes an instance's description for reading.
func printDescription(w io.Writer, d *client.InstanceDescription, now time.Time) error {
	t := newTable(w)
	t.row("Instance:", d.InstanceID)
	t.row("Workflow:", d.WorkflowName)
	t.row("Queue:", d.Queue)
	status := string(d.Status)
	if d.Pending.CancelRequested && !d.Status.Finished() {
		status += " (cancel requested)"
	}
	t.row("Status:", status)
	run := d.ExecutionID
	switch n := len(d.Runs) + d.EarlierRuns; {
	case n > 0 && n <= 3:
		run += fmt.Sprintf("  (earlier: %s)", strings.Join(d.Runs, ", "))
	case n > 3:
		run += fmt.Sprintf("  (%d earlier runs; --json lists the newest %d)", n, len(d.Runs))
	}
	t.row("Run:", run)
	if d.ContinuedExecutionID != "" {
		t.row("Continues:", d.ContinuedExecutionID)
	}
	if p := d.Parent; p != nil {
		t.row("Parent:", fmt.Sprintf("%s (run %s, event %d)", p.InstanceID, p.ExecutionID, p.ScheduleID))
	}
	t.row("Created:", formatTime(d.CreatedAt, timeLayout))
	if d.StartedAt.IsZero() && d.StartAt.After(now) {
		t.row("Starts:", formatTime(d.StartAt, timeLayout)+" (a delayed start)")
	} else if d.StartedAt.IsZero() {
		t.row("Started:", "not yet picked up by a worker")
	} else {
		t.row("Started:", formatTime(d.StartedAt, timeLayout))
	}
	switch {
	case !d.FinishedAt.IsZero():
		t.row("Finished:", fmt.Sprintf("%s (took %s)", formatTime(d.FinishedAt, timeLayout), formatDuration(d.FinishedAt.Sub(d.CreatedAt))))
	case !d.Status.Finished():
		t.row("Running for:", formatDuration(now.Sub(d.CreatedAt)))
	}
	if len(d.Input) > 0 {
		t.row("Input:", truncate(compactJSON(d.Input), 400))
	}
	for i, k := range slices.Sorted(maps.Keys(d.SearchAttributes)) {
		label := ""
		if i == 0 {
			label = "Search:"
		}
		t.row(label, k+" = "+d.SearchAttributes[k])
	}
	for i, k := range slices.Sorted(maps.Keys(d.Memo)) {
		label := ""
		if i == 0 {
			label = "Memo:"
		}
		t.row(label, k+" = "+truncate(compactJSON(d.Memo[k]), 200))
	}
	if d.Result != nil {
		t.row("Result:", truncate(compactJSON(d.Result), 400))
	}
	if f := d.Failure; f != nil {
		label := "Error:"
		if d.Status == streams.StatusTerminated {
			label = "Reason:"
		}
		t.row(label, f.Error())
	}
	hist := fmt.Sprintf("%d events", d.HistoryLength)
	if !d.LastEventAt.IsZero() {
		hist += ", last at " + formatTime(d.LastEventAt, eventTimeLayout)
	}
	t.row("History:", hist)
	if err := t.flush(); err != nil {
		return err
	}
	if d.Failure != nil && d.Failure.Stack != "" {
		fmt.Fprintf(w, "\nStack:\n%s\n", strings.TrimRight(d.Failure.Stack, "\n"))
	}
	return printPending(w, d.Pending, now)
}

// printPending writes the work a run waits for.
func printPending(w io.Writer, p client.PendingWork, now time.Time) error {
	if p.Empty() {
		return nil
	}
	fmt.Fprintln(w, "\nPending:")
	t := newTable(w, "  KIND", "ID", "NAME", "SINCE", "DETAILS")
	for _, act := range p.Activities {
		details := "queue " + act.Queue
		if act.MaxAttempts > 0 {
			details += fmt.Sprintf(", at most %d attempts", act.MaxAttempts)
		}
		if act.MaxAttempts < 0 {
			details += ", retried until its timeouts"
		}
		if act.CancelRequested {
			details += ", cancel requested"
		}
		t.row("  activity", fmt.Sprint(act.ScheduleID), act.Name, since(act.ScheduledAt, now), details)
	}
	for _, tm := range p.Timers {
		t.row("  timer", fmt.Sprint(tm.TimerID), "", since(tm.ScheduledAt, now),
			fmt.Sprintf("fires at %s (in %s)", formatTime(tm.FireAt, eventTimeLayout), formatDuration(tm.FireAt.Sub(now))))
	}
	for _, s := range p.SubWorkflows {
		details := "instance " + s.InstanceID
		if s.CancelRequested {
			details += ", cancel requested"
		}
		t.row("  sub-workflow", fmt.Sprint(s.ScheduleID), s.Name, since(s.ScheduledAt, now), details)
	}
	for _, s := range p.Signals {
		t.row("  signal", fmt.Sprint(s.ScheduleID), s.Name, since(s.ScheduledAt, now), "to instance "+s.InstanceID)
	}
	for _, u := range p.Updates {
		t.row("  update", fmt.Sprint(u.AcceptedID), u.Name, since(u.AcceptedAt, now), "update ID "+u.UpdateID+", handler running")
	}
	return t.flush()
}

// since shows how long ago t was.
func since(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return formatDuration(now.Sub(t)) + " ago"
}
