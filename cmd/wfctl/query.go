package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/workflow"
)

// queryOutput is the JSON "wfctl query --json" writes.
type queryOutput struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id,omitempty"`
	Query       string `json:"query"`
	Result      any    `json:"result"`
}

func queryCommand() *command {
	var (
		run    string
		inputs stringList
		asJSON bool
	)
	return &command{
		name:    "query",
		args:    "ID NAME",
		minArgs: 2, maxArgs: 2,
		summary: "ask a running workflow's query handler",
		description: `
Run the query handler NAME (workflow.SetQueryHandler) of the instance ID's
current run (or --run) and print its answer as JSON. Each --input is one
argument of the handler. A worker of the instance's queue answers, from a
replay of the run: queries change nothing.`,
		examples: []string{
			`wfctl query order-42 status`,
			`wfctl query order-42 item --input 3 --json`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&run, "run", "", "the run's execution `ID` (default: the current run)")
			fs.Var(&inputs, "input", "one query argument as `JSON`, or @FILE")
			fs.BoolVar(&asJSON, "json", false, `write {"instance_id", "query", "result"}`)
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id, name := args[0], args[1]
			qArgs, err := parseInputs(inputs)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			raw, err := client.QueryWorkflow[msgpack.RawMessage](ctx, c, &workflow.Instance{InstanceID: id, ExecutionID: run}, name, qArgs...)
			if err != nil {
				return a.instanceError("query", id, err)
			}
			var result any
			if len(raw) > 0 {
				result = c.DisplayPayload(raw)
			}
			if asJSON {
				return writeJSON(a.stdout, queryOutput{InstanceID: id, ExecutionID: run, Query: name, Result: result})
			}
			fmt.Fprintln(a.stdout, indentJSON(result))
			return nil
		},
	}
}
