package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/workflow"
)

// updateOutput is the JSON "wfctl update --json" writes.
type updateOutput struct {
	InstanceID string `json:"instance_id"`
	Update     string `json:"update"`
	UpdateID   string `json:"update_id,omitempty"`
	Result     any    `json:"result"`
}

func updateCommand() *command {
	var (
		run, updateID string
		inputs        stringList
		asJSON        bool
	)
	return &command{
		name:    "update",
		args:    "ID NAME",
		minArgs: 2, maxArgs: 2,
		summary: "send an update to a running workflow and print its result",
		description: `
Send the update NAME (workflow.SetUpdateHandler) to the instance ID's current
run (or --run), wait for the handler's result (until --timeout) and print it
as JSON. Each --input is one argument of the handler. A validator's
rejection, or a workflow without a handler of that name, is an error and
records nothing. --update-id names the update: the same ID is applied once,
and asking again prints the recorded result.`,
		examples: []string{
			`wfctl update cart-7 add-item --input '{"SKU": "A-1", "Qty": 2}'`,
			`wfctl update cart-7 add-item --input '{"SKU": "A-1"}' --update-id req-7 --json`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&run, "run", "", "the run's execution `ID` (default: the current run)")
			fs.StringVar(&updateID, "update-id", "", "the update's `ID`: calls with the same ID apply it once")
			fs.Var(&inputs, "input", "one handler argument as `JSON`, or @FILE")
			fs.BoolVar(&asJSON, "json", false, `write {"instance_id", "update", "update_id", "result"}`)
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id, name := args[0], args[1]
			uArgs, err := parseInputs(inputs)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			raw, err := c.UpdateWorkflowRaw(ctx, client.UpdateOptions{
				Instance: &workflow.Instance{InstanceID: id, ExecutionID: run}, Name: name, UpdateID: updateID,
			}, uArgs...)
			if err != nil {
				if errors.Is(err, client.ErrInstanceFinished) {
					return fmt.Errorf("update: %w", err)
				}
				return a.instanceError("update", id, err)
			}
			var result any
			if len(raw) > 0 {
				result = c.DisplayPayload(raw)
			}
			if asJSON {
				return writeJSON(a.stdout, updateOutput{InstanceID: id, Update: name, UpdateID: updateID, Result: result})
			}
			fmt.Fprintln(a.stdout, indentJSON(result))
			return nil
		},
	}
}
