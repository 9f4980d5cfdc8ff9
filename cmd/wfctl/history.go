package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// followInterval is how often "history --follow" looks for new events
// without being told of a change: the change notices it waits on travel
// over core NATS, which may drop one.
const followInterval = 2 * time.Second

// payloadWidth bounds how much of a payload one history line shows; --json
// has all of it.
const payloadWidth = 200

// followedEvent is one line of "history --follow --json".
type followedEvent struct {
	InstanceID  string         `json:"instance_id"`
	ExecutionID string         `json:"execution_id"`
	Event       *history.Event `json:"event"`
}

func historyCommand() *command {
	var (
		run     string
		follow  bool
		allRuns bool
		asJSON  bool
	)
	return &command{
		name:    "history",
		args:    "ID",
		minArgs: 1, maxArgs: 1,
		summary: "show the events of a run, decoded; --follow to watch it",
		description: `
Show the history of the instance ID's current run (or of --run, or of every
run with --all-runs): one line per event with its ID, time, kind and
details, arguments and results decoded.

--follow keeps watching: new events are printed as they are committed,
until the run ends or Ctrl-C. Following the current run goes on into the
next run when the run continues as new.

--json writes the history losslessly, payloads base64-encoded as stored:
{"instance_id", "execution_id", "events": [...]}, or an array of those with
--all-runs. That file is what 'wfctl replay --file' and
worker.Replayer.ReplayFile read. With --follow, --json writes one JSON
object per line instead: {"instance_id", "execution_id", "event"}.`,
		examples: []string{
			`wfctl history order-42`,
			`wfctl history order-42 --follow`,
			`wfctl history order-42 --all-runs --json > order-42.json`,
			`wfctl history order-42 --run 0e6f53a4-5cf0-4a7e-9a2f-6a1c4e1f2b3d`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&run, "run", "", "the run's execution `ID` (default: the current run)")
			fs.BoolVar(&follow, "follow", false, "print new events as they happen, until the run ends")
			fs.BoolVar(&allRuns, "all-runs", false, "every run of the instance, oldest first")
			fs.BoolVar(&asJSON, "json", false, "write the lossless history JSON (the replay format)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id := args[0]
			switch {
			case allRuns && run != "":
				return usageErrorf("history: --all-runs and --run exclude each other")
			case allRuns && follow:
				return usageErrorf("history: --all-runs and --follow exclude each other")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if follow {
				f := &follower{a: a, c: c, id: id, json: asJSON}
				return f.follow(ctx, run)
			}
			var runs []string
			if allRuns {
				if runs, err = a.runsOf(ctx, id); err != nil {
					return err
				}
			} else {
				runs = []string{run}
			}
			files := make([]worker.HistoryFile, 0, len(runs))
			for _, r := range runs {
				octx, cancel := a.opContext(ctx)
				h, err := c.GetWorkflowHistory(octx, &workflow.Instance{InstanceID: id, ExecutionID: r})
				cancel()
				if err != nil {
					return a.instanceError("history", id, err)
				}
				files = append(files, worker.HistoryFile{InstanceID: h.InstanceID, ExecutionID: h.ExecutionID, Events: h.Events})
			}
			if asJSON {
				if allRuns {
					return writeJSON(a.stdout, files)
				}
				return writeJSON(a.stdout, files[0])
			}
			for i, h := range files {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				printRunHeader(a.stdout, h.InstanceID, h.ExecutionID, len(h.Events))
				for j := range h.Events {
					printEvent(a.stdout, c.DecodeEvent(&h.Events[j]))
				}
			}
			return nil
		},
	}
}

// runsOf lists the runs of an instance, oldest first.
func (a *app) runsOf(ctx context.Context, id string) ([]string, error) {
	b, err := a.backend()
	if err != nil {
		return nil, err
	}
	ctx, cancel := a.opContext(ctx)
	defer cancel()
	rec, err := b.GetInstance(ctx, id)
	if err != nil {
		return nil, a.instanceError("read runs", id, err)
	}
	return append(slices.Clone(rec.Runs), rec.ExecutionID), nil
}

// printRunHeader writes the line above a run's events.
func printRunHeader(w io.Writer, id, run string, events int) {
	fmt.Fprintf(w, "instance %s, run %s (%d event%s)\n", id, run, events, plural(events))
}

// printEvent writes one event on one line, in columns of fixed width so
// that followed events line up with those printed before them.
func printEvent(w io.Writer, e *client.DecodedEvent) {
	fmt.Fprintf(w, "%5d  %s  %-26s  %s\n", e.ID, formatTime(e.Time, eventTimeLayout), e.Kind, eventDetails(e))
}

// eventDetails describes the fields an event has, payloads decoded.
func eventDetails(e *client.DecodedEvent) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if e.Name != "" {
		add("%s", e.Name)
	}
	if e.ScheduleID != 0 {
		add("for #%d", e.ScheduleID)
	}
	if e.UpdateID != "" {
		add("update ID %s", strconv.Quote(e.UpdateID))
	}
	if e.InstanceID != "" {
		add("instance %s", e.InstanceID)
	}
	if e.Queue != "" {
		add("queue %s", e.Queue)
	}
	if e.Kind == history.VersionMarker {
		add("version %d", e.Version)
	}
	if e.Local != nil {
		add("local call %d, attempt %d", e.Local.Seq, e.Local.Attempt)
		if e.Local.RetryAfter > 0 {
			add("retry after %s", e.Local.RetryAfter)
		}
	}
	if len(e.Args) > 0 {
		add("args %s", truncate(compactJSON(e.Args), payloadWidth))
	}
	if e.Result != nil {
		add("result %s", truncate(compactJSON(e.Result), payloadWidth))
	}
	if e.Failure != nil {
		add("error %s", truncate(e.Failure.Error(), payloadWidth))
	}
	if !e.FireAt.IsZero() {
		add("fires at %s", formatTime(e.FireAt, eventTimeLayout))
	}
	if e.Reason != "" {
		add("reason %s", strconv.Quote(e.Reason))
	}
	if p := e.Parent; p != nil {
		add("parent %s (run %s)", p.InstanceID, p.ExecutionID)
	}
	if e.ContinuedExecutionID != "" {
		add("continues run %s", e.ContinuedExecutionID)
	}
	return strings.Join(parts, ", ")
}

// follower prints a run's events as they are committed.
type follower struct {
	a    *app
	c    *client.Client
	id   string
	json bool
	// changed tells of a commit or a registry change of the instance.
	changed <-chan struct{}
}

// wait waits for a change of the instance, or followInterval at most, and
// reports false if ctx ends first.
func (f *follower) wait(ctx context.Context) bool {
	t := time.NewTimer(followInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-f.changed:
		return true
	case <-t.C:
		return true
	}
}

// follow prints the history of run (the current run when empty) and then
// its new events until it ends, the instance moves on, or ctx ends. Without
// an explicit run, a run that continued as new is followed into the next.
// The end of ctx (Ctrl-C) ends the watch without error.
func (f *follower) follow(ctx context.Context, run string) error {
	// Watch before the first read, so no commit falls in between.
	watch, err := f.c.Backend().WatchInstance(f.id)
	if err != nil {
		return f.a.instanceError("history", f.id, err)
	}
	defer watch.Stop()
	f.changed = watch.C()
	explicit := run != ""
	var last uint64
	headerDone := false
	for {
		octx, cancel := f.a.opContext(ctx)
		h, err := f.c.GetWorkflowHistoryAfter(octx, &workflow.Instance{InstanceID: f.id, ExecutionID: run}, last)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return f.a.instanceError("history", f.id, err)
		}
		if run == "" {
			run = h.ExecutionID
		}
		if !headerDone && !f.json {
			printRunHeader(f.a.stdout, f.id, run, len(h.Events))
		}
		headerDone = true
		if err := f.emit(run, h.Events); err != nil {
			return err
		}
		last = h.LastSeq
		if !h.Finished() {
			if !f.wait(ctx) {
				return nil
			}
			continue
		}
		final := h.Events[len(h.Events)-1].Kind
		if explicit || final != history.WorkflowContinuedAsNew {
			return nil
		}
		next, err := f.nextRun(ctx, run)
		if err != nil || next == "" {
			return err
		}
		if !f.json {
			fmt.Fprintf(f.a.stdout, "\ncontinued as new: following run %s\n", next)
		}
		run, last = next, 0
	}
}

// emit prints events as they arrive.
func (f *follower) emit(run string, events []history.Event) error {
	for i := range events {
		if f.json {
			if err := writeJSONLine(f.a.stdout, followedEvent{InstanceID: f.id, ExecutionID: run, Event: &events[i]}); err != nil {
				return err
			}
			continue
		}
		printEvent(f.a.stdout, f.c.DecodeEvent(&events[i]))
	}
	return nil
}

// nextRun waits until the run after run is registered and returns it; ""
// when ctx ends first.
func (f *follower) nextRun(ctx context.Context, run string) (string, error) {
	for {
		runs, err := f.a.runsOf(ctx, f.id)
		if ctx.Err() != nil {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		i := slices.Index(runs, run)
		if i < 0 {
			return "", fmt.Errorf("history: run %q of instance %q is gone (the instance was removed or restarted)", run, f.id)
		}
		if i+1 < len(runs) {
			return runs[i+1], nil
		}
		if !f.wait(ctx) {
			return "", nil
		}
	}
}
