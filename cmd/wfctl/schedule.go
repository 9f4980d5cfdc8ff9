package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jetflow/jetflow/client"
)

// scheduleCommand is "wfctl schedule SUBCOMMAND …": create, list,
// describe, pause, unpause, trigger, backfill, delete.
func scheduleCommand() *command {
	var (
		cronExpr, tz, queue, overlap, note, startAt, endAt, from, to string
		every, offset, jitter, catchup                               time.Duration
		inputs                                                       stringList
		paused, asJSON                                               bool
	)
	return &command{
		name:    "schedule",
		args:    "SUBCOMMAND [ID [WORKFLOW]]",
		minArgs: 1, maxArgs: 3,
		summary: "create, list, describe, pause, unpause, trigger, backfill or delete schedules",
		description: `
Schedules start a workflow on a cron expression or an interval; any worker
of the namespace starts each fire's instance, <ID>-<fire time, RFC 3339 UTC>.

  schedule create ID WORKFLOW   --cron EXPR [--tz ZONE] | --every D [--offset D];
                                --input JSON… --queue Q --overlap POLICY
                                --catchup D --jitter D --start-at T --end-at T --paused --note N
  schedule list                 every schedule of the namespace
  schedule describe ID          state, next fires, recent fires and their instances
  schedule pause ID [--note N]  stop fires (the record stays)
  schedule unpause ID [--note N]
  schedule trigger ID           one fire now, under the overlap policy
  schedule backfill ID --from T --to T [--overlap POLICY]
                                the fires of a past range, now
  schedule delete ID

Cron takes 5 fields (minute hour day month weekday) or 6 with seconds
first. Overlap policies: skip (default), buffer_one, allow_all,
cancel_other, terminate_other. Times (T) are RFC 3339.`,
		examples: []string{
			`wfctl schedule create nightly Report --cron "0 2 * * *" --tz Europe/Berlin --input '"eu"'`,
			`wfctl schedule create tick Tick --every 1m --overlap allow_all`,
			`wfctl schedule describe nightly --json`,
			`wfctl schedule pause nightly --note "db maintenance"`,
			`wfctl schedule backfill nightly --from 2026-01-01T00:00:00Z --to 2026-01-08T00:00:00Z`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&cronExpr, "cron", "", "cron `EXPR` (5 or 6 fields)")
			fs.DurationVar(&every, "every", 0, "fire every `D`")
			fs.DurationVar(&offset, "offset", 0, "shift --every fires by `D`")
			fs.StringVar(&tz, "tz", "", "IANA time `ZONE` of --cron")
			fs.DurationVar(&jitter, "jitter", 0, "delay each fire by up to `D`")
			fs.StringVar(&startAt, "start-at", "", "no fires before `T` (RFC 3339)")
			fs.StringVar(&endAt, "end-at", "", "no fires after `T` (RFC 3339)")
			fs.Var(&inputs, "input", "one workflow argument as `JSON`, or @FILE")
			fs.StringVar(&queue, "queue", "", "the `QUEUE` the instances run on")
			fs.StringVar(&overlap, "overlap", "", "overlap `POLICY`")
			fs.DurationVar(&catchup, "catchup", 0, "catch-up window `D` (default 1h)")
			fs.BoolVar(&paused, "paused", false, "create the schedule paused")
			fs.StringVar(&note, "note", "", "a `NOTE` on pause or unpause")
			fs.StringVar(&from, "from", "", "backfill from `T` (RFC 3339)")
			fs.StringVar(&to, "to", "", "backfill to `T` (RFC 3339, excluded)")
			fs.BoolVar(&asJSON, "json", false, "write the result as JSON")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			sub := args[0]
			need := func(n int, usage string) error {
				if len(args) != n+1 {
					return usageErrorf("schedule %s: usage: wfctl schedule %s %s", sub, sub, usage)
				}
				return nil
			}
			parseTime := func(name, s string) (time.Time, error) {
				if s == "" {
					return time.Time{}, nil
				}
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					return time.Time{}, usageErrorf("schedule %s: --%s: %v", sub, name, err)
				}
				return t, nil
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			fail := func(id string, err error) error {
				if errors.Is(err, client.ErrScheduleNotFound) {
					return withCode(exitNotFound, fmt.Errorf("schedule %s: schedule %q not found in namespace %q", sub, id, a.g.namespace))
				}
				return fmt.Errorf("schedule %s: %w", sub, err)
			}
			switch sub {
			case "create":
				if err := need(2, "ID WORKFLOW --cron EXPR | --every D"); err != nil {
					return err
				}
				pol, err := client.ParseOverlapPolicy(overlap)
				if err != nil {
					return usageErrorf("schedule create: --overlap: %v", err)
				}
				wfArgs, err := parseInputs(inputs)
				if err != nil {
					return usageErrorf("schedule create: %v", err)
				}
				sa, err := parseTime("start-at", startAt)
				if err != nil {
					return err
				}
				ea, err := parseTime("end-at", endAt)
				if err != nil {
					return err
				}
				opts := client.ScheduleOptions{
					ScheduleID: args[1], Workflow: args[2], Args: wfArgs, Queue: queue, Overlap: pol,
					CatchupWindow: catchup, Paused: paused, Note: note,
					Spec: client.ScheduleSpec{Cron: cronExpr, Every: every, Offset: offset, TimeZone: tz, StartAt: sa, EndAt: ea, Jitter: jitter},
				}
				if err := c.CreateSchedule(ctx, opts); err != nil {
					return fail(args[1], err)
				}
				fmt.Fprintf(a.stdout, "created schedule %s\n", args[1])
			case "list":
				if err := need(0, ""); err != nil {
					return err
				}
				list, err := c.ListSchedules(ctx)
				if err != nil {
					return fail("", err)
				}
				if asJSON {
					return writeJSON(a.stdout, list)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSPEC\tWORKFLOW\tSTATE\tNEXT FIRE\tFIRES")
				for _, d := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", d.ScheduleID, specText(d.Spec), d.Workflow, stateText(d), nextText(d), d.Fires)
				}
				return tw.Flush()
			case "describe":
				if err := need(1, "ID"); err != nil {
					return err
				}
				d, err := c.DescribeSchedule(ctx, args[1])
				if err != nil {
					return fail(args[1], err)
				}
				if asJSON {
					return writeJSON(a.stdout, d)
				}
				w := a.stdout
				fmt.Fprintf(w, "schedule   %s\nspec       %s\nworkflow   %s (queue %s)\noverlap    %s, catch-up window %s\nstate      %s\n",
					d.ScheduleID, specText(d.Spec), d.Workflow, d.Queue, d.Overlap, d.CatchupWindow, stateText(d))
				fmt.Fprintf(w, "fires      %d started or recorded, %d skipped, %d missed\n", d.Fires, d.Skipped, d.Missed)
				fmt.Fprintln(w, "next fires")
				for _, t := range d.NextFires {
					fmt.Fprintf(w, "  %s\n", t.Format(time.RFC3339))
				}
				fmt.Fprintln(w, "recent fires")
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				for _, f := range d.RecentFires {
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", f.FireTime.Format(time.RFC3339Nano), f.Kind, f.Outcome, f.InstanceID, f.Status, f.Reason)
				}
				return tw.Flush()
			case "pause", "unpause", "trigger", "delete":
				if err := need(1, "ID"); err != nil {
					return err
				}
				id := args[1]
				switch sub {
				case "pause":
					err = c.PauseSchedule(ctx, id, note)
				case "unpause":
					err = c.UnpauseSchedule(ctx, id, note)
				case "trigger":
					err = c.TriggerSchedule(ctx, id)
				case "delete":
					err = c.DeleteSchedule(ctx, id)
				}
				if err != nil {
					return fail(id, err)
				}
				fmt.Fprintf(a.stdout, "%sd schedule %s\n", strings.TrimSuffix(sub, "e"), id)
			case "backfill":
				if err := need(1, "ID --from T --to T"); err != nil {
					return err
				}
				pol, err := client.ParseOverlapPolicy(overlap)
				if err != nil {
					return usageErrorf("schedule backfill: --overlap: %v", err)
				}
				f, err := parseTime("from", from)
				if err != nil {
					return err
				}
				t, err := parseTime("to", to)
				if err != nil {
					return err
				}
				if f.IsZero() || t.IsZero() {
					return usageErrorf("schedule backfill: --from and --to are required")
				}
				n, err := c.BackfillSchedule(ctx, args[1], client.ScheduleBackfill{Start: f, End: t, Overlap: pol})
				if err != nil {
					return fail(args[1], err)
				}
				fmt.Fprintf(a.stdout, "sent %d fires of schedule %s\n", n, args[1])
			default:
				return usageErrorf("schedule: unknown subcommand %q (create, list, describe, pause, unpause, trigger, backfill, delete)", sub)
			}
			return nil
		},
	}
}

func specText(s client.ScheduleSpec) string {
	var b strings.Builder
	if s.Cron != "" {
		b.WriteString("cron " + s.Cron)
		if s.TimeZone != "" {
			b.WriteString(" (" + s.TimeZone + ")")
		}
	} else {
		b.WriteString("every " + s.Every.String())
		if s.Offset != 0 {
			b.WriteString(" +" + s.Offset.String())
		}
	}
	if s.Jitter != 0 {
		b.WriteString(", jitter " + s.Jitter.String())
	}
	return b.String()
}

func stateText(d *client.ScheduleDescription) string {
	if d.Paused {
		if d.Note != "" {
			return "paused: " + d.Note
		}
		return "paused"
	}
	if len(d.NextFires) == 0 {
		return "ended"
	}
	return "active"
}

func nextText(d *client.ScheduleDescription) string {
	if len(d.NextFires) == 0 {
		return "-"
	}
	return d.NextFires[0].Format(time.RFC3339)
}
