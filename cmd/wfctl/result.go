package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// resultOutput is the JSON "wfctl result --json" writes.
type resultOutput struct {
	InstanceID  string           `json:"instance_id"`
	ExecutionID string           `json:"execution_id"`
	Workflow    string           `json:"workflow"`
	Status      streams.Status   `json:"status"`
	Result      any              `json:"result,omitempty"`
	Failure     *history.Failure `json:"failure,omitempty"`
	// ContinuedAs and Args are set for a run (--run) that continued as
	// new: the next run and the arguments passed on to it.
	ContinuedAs string `json:"continued_as,omitempty"`
	Args        []any  `json:"args,omitempty"`
}

func resultCommand() *command {
	var (
		wait   time.Duration
		asJSON bool
		run    string
	)
	return &command{
		name:    "result",
		args:    "ID",
		minArgs: 1, maxArgs: 1,
		summary: "print the result of an instance, waiting for it with --wait",
		description: `
Print the result of the instance ID's latest run as JSON. If the run is
still going, wait for it up to --wait (following continue-as-new), or
report it unfinished (exit code 5) right away without --wait.

A workflow that failed, was canceled or was terminated prints its error on
stderr and exits with code 4. --json prints {"instance_id",
"execution_id", "workflow", "status", "result", "failure"} in every case.

--run R prints how the run R itself ended, without following it: for a
run that continued as new, the next run and the arguments it passed on
("continued_as", "args" with --json). It does not wait; a run still going
exits with code 5.`,
		examples: []string{
			`wfctl result order-42`,
			`wfctl result order-42 --wait 30s`,
			`wfctl result order-42 --json | jq .status`,
			`wfctl result order-42 --run 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&wait, "wait", 0, "wait up to `D` for the run to end (0: do not wait)")
			fs.BoolVar(&asJSON, "json", false, "write status, result and error as JSON")
			fs.StringVar(&run, "run", "", "print how run `R` itself ended, without following a continue-as-new")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			id := args[0]
			if wait < 0 {
				return usageErrorf("result: --wait must not be negative, got %s", wait)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if run != "" {
				if wait > 0 {
					return usageErrorf("result: --run reads a run's end as it is; it does not take --wait")
				}
				return runEnd(ctx, a, c, id, run, asJSON)
			}
			d, err := describe(ctx, a, c, id)
			if err != nil {
				return err
			}
			if !ended(d.Status) && wait > 0 {
				// GetWorkflowResult waits for the end (notices, and a
				// poll in case one is lost); the registry then says how
				// the run ended. The result is taken undecoded: the
				// registry has it for display.
				_, werr := client.GetWorkflowResult[msgpack.RawMessage](ctx, c, &workflow.Instance{InstanceID: id}, wait)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if d, err = describe(ctx, a, c, id); err != nil {
					return err
				}
				if !ended(d.Status) && werr != nil && !errors.Is(werr, context.DeadlineExceeded) {
					return fmt.Errorf("result: %w", werr)
				}
			}
			if !ended(d.Status) {
				msg := fmt.Sprintf("instance %q (workflow %s, run %s) is %s", id, d.WorkflowName, d.ExecutionID, d.Status)
				if wait > 0 {
					msg += " after waiting " + wait.String()
				} else {
					msg += "; --wait D waits for it"
				}
				return withCode(exitNotFinished, errors.New(msg))
			}
			return printResult(a, d.InstanceInfo, asJSON)
		},
	}
}

// describe reads an instance's description within --timeout.
func describe(ctx context.Context, a *app, c *client.Client, id string) (*client.InstanceDescription, error) {
	ctx, cancel := a.opContext(ctx)
	defer cancel()
	d, err := c.DescribeWorkflowInstance(ctx, id)
	if err != nil {
		return nil, a.instanceError("result", id, err)
	}
	return d, nil
}

// ended reports whether a run with this status has an outcome (a run that
// continued as new has not: its successor carries on).
func ended(s streams.Status) bool {
	return s.Finished() && s != streams.StatusContinuedAsNew
}

// printResult writes the outcome of a run that ended, and returns the error
// (exit code 4) of one that did not complete.
func printResult(a *app, in client.InstanceInfo, asJSON bool) error {
	if asJSON {
		out := resultOutput{
			InstanceID:  in.InstanceID,
			ExecutionID: in.ExecutionID,
			Workflow:    in.WorkflowName,
			Status:      in.Status,
			Result:      in.Result,
			Failure:     in.Failure,
		}
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else if in.Status == streams.StatusCompleted {
		fmt.Fprintln(a.stdout, indentJSON(in.Result))
	}
	what := fmt.Sprintf("workflow %s (instance %q, run %s)", in.WorkflowName, in.InstanceID, in.ExecutionID)
	switch in.Status {
	case streams.StatusCompleted:
		return nil
	case streams.StatusFailed:
		if in.Failure != nil {
			return withCode(exitUnsuccessful, fmt.Errorf("%s failed: %s", what, in.Failure.Error()))
		}
		return withCode(exitUnsuccessful, fmt.Errorf("%s failed", what))
	case streams.StatusTerminated:
		if in.Failure != nil && in.Failure.Message != "" {
			return withCode(exitUnsuccessful, fmt.Errorf("%s was terminated: %s", what, in.Failure.Message))
		}
		return withCode(exitUnsuccessful, fmt.Errorf("%s was terminated", what))
	case streams.StatusCanceled:
		return withCode(exitUnsuccessful, fmt.Errorf("%s was canceled", what))
	}
	return withCode(exitUnsuccessful, fmt.Errorf("%s ended with status %s", what, in.Status))
}

// runEnd prints how one run ended (client.GetRunEnd).
func runEnd(ctx context.Context, a *app, c *client.Client, id, run string, asJSON bool) error {
	octx, cancel := a.opContext(ctx)
	defer cancel()
	end, err := c.GetRunEnd(octx, &workflow.Instance{InstanceID: id, ExecutionID: run})
	if errors.Is(err, client.ErrInstanceNotFinished) {
		return withCode(exitNotFinished, fmt.Errorf("result: run %s of instance %q has not ended", run, id))
	}
	if err != nil {
		return a.instanceError("result", id, err)
	}
	if end.Kind != history.WorkflowContinuedAsNew {
		return printResult(a, client.InstanceInfo{
			InstanceID: id, ExecutionID: run, WorkflowName: end.WorkflowName, Status: end.Status,
			Result: c.DisplayPayload(end.EncodedResult), Failure: end.Failure,
		}, asJSON)
	}
	args := make([]any, len(end.EncodedArgs))
	for i, p := range end.EncodedArgs {
		args[i] = c.DisplayPayload(p)
	}
	if asJSON {
		return writeJSON(a.stdout, resultOutput{InstanceID: id, ExecutionID: run, Workflow: end.WorkflowName,
			Status: end.Status, ContinuedAs: end.ContinuedAs, Args: args})
	}
	fmt.Fprintf(a.stdout, "run %s of workflow %s continued as new as run %s with arguments:\n%s\n",
		run, end.WorkflowName, end.ContinuedAs, indentJSON(args))
	return nil
}
