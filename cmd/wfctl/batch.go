package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// batchActions are what wfctl batch can do.
var batchActions = []string{"cancel", "terminate", "signal"}

func batchCommand() *command {
	var (
		status, workflow, batchID, reason, input string
		dryRun, yes, asJSON                      bool
		inFlight                                 int
		search                                   searchFlag
		idContains                               string
	)
	return &command{
		name:    "batch",
		args:    "cancel|terminate|signal [NAME]",
		minArgs: 1, maxArgs: 2,
		summary: "cancel, terminate or signal every instance a filter selects",
		description: `
Act on every instance that --status (default running), --workflow,
--search KEY=VALUE (repeatable: every pair must match the instance's search
attributes, as in wfctl list) and --id-contains select: cancel it, terminate it (--reason), or send it the signal NAME
(--input as JSON, or @FILE). --dry-run prints how many instances would be
acted on; without --yes nothing is done either, and the count is printed
with what to add. Progress goes to stderr.

--batch-id names the batch (default: one made from the time). If a batch
is interrupted, run it again with the same --batch-id: each instance is
acted on once (a run applies a signal of the same batch once, and is
canceled or terminated once however often it is asked).`,
		examples: []string{
			`wfctl batch cancel --workflow ProcessOrder --dry-run`,
			`wfctl batch cancel --search customer=acme --search region=eu --yes`,
			`wfctl batch terminate --workflow ProcessOrder --reason "bad deploy" --batch-id cleanup-1 --yes`,
			`wfctl batch signal approve --input '{"By": "ann"}' --workflow Approval --batch-id approve-all --yes`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&status, "status", "", "only instances with this `STATUS` (default running)")
			fs.StringVar(&workflow, "workflow", "", "only instances of this workflow `NAME`")
			fs.Var(&search, "search", "only instances with this search attribute `KEY=VALUE` (repeatable)")
			fs.StringVar(&idContains, "id-contains", "", "only instances whose ID contains `TEXT` (ignoring case; reads every registry entry)")
			fs.StringVar(&batchID, "batch-id", "", "the batch's `ID`: a re-run with the same ID acts on each instance once")
			fs.StringVar(&reason, "reason", "", "terminate: the `REASON` recorded")
			fs.StringVar(&input, "input", "", "signal: the value as `JSON`, or @FILE")
			fs.IntVar(&inFlight, "in-flight", 0, "at most `N` requests on the way at once (default 256)")
			fs.BoolVar(&dryRun, "dry-run", false, "only count the instances")
			fs.BoolVar(&yes, "yes", false, "do it (without it, only the count is printed)")
			fs.BoolVar(&asJSON, "json", false, "write the outcome as JSON")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			action := args[0]
			if !slices.Contains(batchActions, action) {
				return usageErrorf("batch: unknown action %q (one of: cancel, terminate, signal)", action)
			}
			name := ""
			if action == "signal" {
				if len(args) != 2 {
					return usageErrorf("batch signal: the signal's NAME is missing")
				}
				name = args[1]
			} else if len(args) != 1 {
				return usageErrorf("batch %s takes no NAME", action)
			}
			if reason != "" && action != "terminate" {
				return usageErrorf("batch: --reason is for terminate")
			}
			if input != "" && action != "signal" {
				return usageErrorf("batch: --input is for signal")
			}
			if err := oneOf("status", streams.Status(status), streams.Statuses); err != nil {
				return err
			}
			var arg any
			if input != "" {
				v, err := parseArg(input)
				if err != nil {
					return usageErrorf("batch signal: --input: %v", err)
				}
				arg = v
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			filter := client.BatchFilter{Status: streams.Status(status), WorkflowName: workflow,
				SearchAttributes: search.attrs, IDContains: idContains}
			if dryRun || !yes {
				n, err := c.BatchCount(ctx, filter)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{"action": action, "instances": n, "dry_run": true})
				}
				fmt.Fprintf(a.stdout, "%d instances would be %s\n", n, pastTense(action))
				if !dryRun {
					fmt.Fprintln(a.stdout, "nothing done: add --yes to do it")
				}
				return nil
			}
			if batchID == "" {
				batchID = "wfctl-" + time.Now().UTC().Format("20060102T150405.000000000Z")
				fmt.Fprintf(a.stderr, "batch ID %s (give it as --batch-id to resume an interrupted batch)\n", batchID)
			}
			var mu sync.Mutex
			last := time.Time{}
			opts := client.BatchOptions{BatchID: batchID, InFlight: inFlight, Progress: func(p client.BatchProgress) {
				mu.Lock()
				defer mu.Unlock()
				if n := p.Done + p.Skipped + p.Failed; n < p.Total && time.Since(last) < time.Second {
					return
				}
				last = time.Now()
				fmt.Fprintf(a.stderr, "batch %s: %d/%d done, %d skipped, %d failed\n", action, p.Done, p.Total, p.Skipped, p.Failed)
			}}
			var res *client.BatchResult
			switch action {
			case "cancel":
				res, err = c.BatchCancel(ctx, filter, opts)
			case "terminate":
				res, err = c.BatchTerminate(ctx, filter, opts, reason)
			case "signal":
				res, err = c.BatchSignal(ctx, filter, opts, name, arg)
			}
			if res != nil {
				if asJSON {
					if jerr := writeJSON(a.stdout, map[string]any{"action": action, "batch_id": batchID, "total": res.Total,
						"done": res.Done, "skipped": res.Skipped, "failed": res.Failed}); jerr != nil {
						return jerr
					}
				} else {
					fmt.Fprintf(a.stdout, "batch %s %s: %d instances %s, %d skipped (finished meanwhile), %d failed\n",
						action, batchID, res.Done, pastTense(action), res.Skipped, res.Failed)
				}
			}
			return err
		},
	}
}

func pastTense(action string) string {
	switch action {
	case "cancel":
		return "asked to cancel"
	case "terminate":
		return "terminated"
	}
	return "signaled"
}
