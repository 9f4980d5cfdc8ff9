package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// startOutput is the JSON "wfctl start --json" writes.
type startOutput struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id"`
	Workflow    string `json:"workflow"`
	Queue       string `json:"queue"`
}

func startCommand() *command {
	var (
		id, queue string
		inputs    stringList
		memos     stringList
		search    searchFlag
		asJSON    bool

		startDelay, runTimeout, executionTimeout time.Duration
	)
	return &command{
		name:    "start",
		args:    "TYPE",
		minArgs: 1, maxArgs: 1,
		summary: "start a workflow by its registered name",
		description: `
Start a run of the workflow registered as TYPE (by default the Go function's
name) and print the instance ID and the run's execution ID. A worker that
has TYPE registered on the queue runs it.

Each --input is one argument of the workflow, in JSON; repeat it for a
workflow with several parameters. A JSON object reaches a struct parameter
by field name: the keys must be spelled like the Go fields (or their
msgpack tags), e.g. {"OrderID": "42", "Qty": 2}. Whole numbers fit int and
float parameters alike. "@FILE" reads the JSON from a file, "@-" from
standard input.

Each --memo KEY=JSON adds a value to the instance's memo: not indexed,
shown by describe and the web UI. Each --search KEY=VALUE adds a search
attribute: indexed, so wfctl list --search KEY=VALUE finds the instance.

An ID of a running instance is refused; the ID of a finished one starts a
new run of it.`,
		examples: []string{
			`wfctl start Workflow1 --input '"hello"'`,
			`wfctl start ProcessOrder --id order-42 --input '{"OrderID": "42", "Items": ["book"], "Rush": true}'`,
			`wfctl start Add --input 35 --input 12`,
			`wfctl start Import --queue batch --input @payload.json --json`,
			`wfctl start Refund --input 42 --memo 'ticket="SUP-7"' --memo 'by="ann"'`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&id, "id", "", "instance `ID` (default: a new UUID)")
			fs.StringVar(&queue, "queue", streams.DefaultQueue, "`QUEUE` whose workers run it")
			fs.Var(&inputs, "input", "one workflow argument as `JSON`, or @FILE")
			fs.Var(&memos, "memo", "one memo value as `KEY=JSON`")
			fs.Var(&search, "search", "one search attribute as `KEY=VALUE`")
			fs.DurationVar(&startDelay, "start-delay", 0, "start the run after this `DURATION` (a server-side schedule)")
			fs.DurationVar(&runTimeout, "run-timeout", 0, "fail a run that takes longer than `DURATION`")
			fs.DurationVar(&executionTimeout, "execution-timeout", 0, "fail the instance when its runs together take longer than `DURATION`")
			fs.BoolVar(&asJSON, "json", false, "write the result as JSON")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			name := args[0]
			wfArgs, err := parseInputs(inputs)
			if err != nil {
				return err
			}
			memo, err := parseMemo(memos)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{
				InstanceID: id, Queue: queue, Memo: memo, SearchAttributes: search.attrs,
				StartDelay: startDelay, RunTimeout: runTimeout, ExecutionTimeout: executionTimeout,
			}, name, wfArgs...)
			if err != nil {
				if errors.Is(err, client.ErrInstanceAlreadyExists) {
					return fmt.Errorf("start %s: instance %q is already running (wait for it to end, or cancel it)", name, id)
				}
				return fmt.Errorf("start %s: %w", name, err)
			}
			if asJSON {
				return writeJSON(a.stdout, startOutput{InstanceID: inst.InstanceID, ExecutionID: inst.ExecutionID, Workflow: name, Queue: queue})
			}
			fmt.Fprintf(a.stdout, "started %s\n  instance:  %s\n  run:       %s\n  queue:     %s\n", name, inst.InstanceID, inst.ExecutionID, queue)
			return nil
		},
	}
}

// parseMemo reads --memo KEY=JSON values.
func parseMemo(memos []string) (map[string]any, error) {
	if len(memos) == 0 {
		return nil, nil
	}
	memo := make(map[string]any, len(memos))
	for _, m := range memos {
		k, js, ok := strings.Cut(m, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--memo %q: want KEY=JSON", m)
		}
		v, err := parseInput(js)
		if err != nil {
			return nil, usageErrorf("--memo %s: %v", k, err)
		}
		memo[k] = v
	}
	return memo, nil
}
