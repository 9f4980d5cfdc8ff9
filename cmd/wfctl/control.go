package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/workflow"
)

// errorForInstance wraps the error of an operation on instance id, giving
// the exit codes: not found (3), and a plain error for a finished instance.
func errorForInstance(a *app, what, id string, err error) error {
	if errors.Is(err, client.ErrInstanceFinished) {
		return fmt.Errorf("%s: instance %q has already finished", what, id)
	}
	if errors.Is(err, client.ErrInstanceNotFinished) {
		return fmt.Errorf("%s: instance %q is still running (cancel or terminate it first)", what, id)
	}
	return a.instanceError(what, id, err)
}

func signalCommand() *command {
	var input, signalID string
	return &command{
		name:    "signal",
		args:    "ID NAME",
		minArgs: 2, maxArgs: 2,
		summary: "send a signal to an instance",
		description: `
Send the signal NAME to the current run of the instance ID, where
workflow.NewSignalChannel(ctx, NAME) receives it. --input is the signal's
value as JSON (none: the zero value of the channel's type); "@FILE" reads
it from a file. Every call is a signal of its own, unless --signal-id names
it: calls with the same ID deliver one signal, so a call whose outcome is
unknown (a timeout) can be repeated safely.`,
		examples: []string{
			`wfctl signal order-42 approve --input '{"By": "ann"}'`,
			`wfctl signal order-42 cancel-item --input 3 --signal-id cancel-item-3`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&input, "input", "", "the signal's value as `JSON`, or @FILE")
			fs.StringVar(&signalID, "signal-id", "", "the signal's `ID`: calls with the same ID deliver one signal")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id, name := args[0], args[1]
			var arg any
			if input != "" {
				v, err := parseArg(input)
				if err != nil {
					return usageErrorf("signal: --input: %v", err)
				}
				arg = v
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			opts := client.SignalOptions{InstanceID: id, Name: name, SignalID: signalID}
			if err := c.SignalWorkflowWithOptions(ctx, opts, arg); err != nil {
				return errorForInstance(a, "signal", id, err)
			}
			fmt.Fprintf(a.stdout, "sent signal %q to instance %s\n", name, id)
			return nil
		},
	}
}

func cancelCommand() *command {
	var run string
	return &command{
		name:    "cancel",
		args:    "ID",
		minArgs: 1, maxArgs: 1,
		summary: "ask an instance to cancel",
		description: `
Ask the current run of the instance ID (or --run) to cancel: its context is
canceled, and a workflow that then returns workflow.Canceled ends as
canceled. The workflow may clean up first, or ignore the request. The
command returns once the request is stored; 'wfctl result ID --wait D'
waits for the end.`,
		examples: []string{
			`wfctl cancel order-42`,
			`wfctl cancel order-42 && wfctl result order-42 --wait 30s`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&run, "run", "", "the run's execution `ID` (default: the current run)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id := args[0]
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			if err := c.CancelWorkflowInstance(ctx, &workflow.Instance{InstanceID: id, ExecutionID: run}); err != nil {
				return errorForInstance(a, "cancel", id, err)
			}
			fmt.Fprintf(a.stdout, "requested cancellation of instance %s\n", id)
			return nil
		},
	}
}

func terminateCommand() *command {
	var run, reason string
	return &command{
		name:    "terminate",
		args:    "ID",
		minArgs: 1, maxArgs: 1,
		summary: "end an instance at once, without running its code",
		description: `
Terminate the current run of the instance ID (or --run): it ends at once,
without running any more of its code; pending activities and timers are
abandoned. Its result is an error carrying --reason.`,
		examples: []string{
			`wfctl terminate order-42 --reason "duplicate order"`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&run, "run", "", "the run's execution `ID` (default: the current run)")
			fs.StringVar(&reason, "reason", "", "why, recorded in the history and the result")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id := args[0]
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			if err := c.TerminateWorkflowInstance(ctx, &workflow.Instance{InstanceID: id, ExecutionID: run}, reason); err != nil {
				return errorForInstance(a, "terminate", id, err)
			}
			fmt.Fprintf(a.stdout, "requested termination of instance %s\n", id)
			return nil
		},
	}
}

func removeCommand() *command {
	return &command{
		name:    "remove",
		args:    "ID",
		minArgs: 1, maxArgs: 1,
		summary: "delete a finished instance and its histories",
		description: `
Remove the finished instance ID: the histories of all its runs and its
registry entry. Its ID can then be used afresh. A running instance is
refused: cancel or terminate it first.`,
		examples: []string{
			`wfctl remove order-42`,
			`wfctl list --status completed --all --json | jq -r '.instances[].instance_id' | xargs -n1 wfctl remove`,
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id := args[0]
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.opContext(ctx)
			defer cancel()
			if err := c.RemoveWorkflowInstance(ctx, &workflow.Instance{InstanceID: id}); err != nil {
				return errorForInstance(a, "remove", id, err)
			}
			fmt.Fprintf(a.stdout, "removed instance %s\n", id)
			return nil
		},
	}
}
