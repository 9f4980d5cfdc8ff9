package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// SignalName is the signal Flow waits for.
const SignalName = "add"

// Input is Flow's argument. Everything Flow returns follows from it and
// from the signal values the test sends, so the test knows the right result.
type Input struct {
	// N identifies the instance's numbers (activity results, signal values).
	N int
	// Signals is how many signals Flow waits for.
	Signals int
	// Timer is how long Flow sleeps on a durable timer.
	Timer time.Duration
}

// Result is what Flow returns.
type Result struct {
	// Activities are the results of the three activities, in schedule order.
	Activities [3]int
	// Signals are the signal values in the order the workflow took them.
	Signals []int
	// Total is the sum of the activity results and the signal values: an
	// activity result or a signal applied twice, or lost, changes it.
	Total int
}

// StepResult is what Activities.Step returns for (n, k).
func StepResult(n, k int) int { return 1000*n + k }

// CombineResult is what Activities.Combine returns for (a, b).
func CombineResult(a, b int) int { return a + b + 3 }

// SignalValue is the value of signal k (from 1) sent to instance n: all
// distinct, so a lost or doubled signal is visible in the result.
func SignalValue(n, k int) int { return 100000*(n+1) + 7*k }

// ActivityOptions are Flow's activity options: a generous StartToClose and
// quick retries (attempts are JetStream deliveries, so a task redelivered
// after a kill counts one up).
var ActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryOptions: workflow.RetryOptions{
		MaxAttempts:        10,
		FirstRetryInterval: 100 * time.Millisecond,
		BackoffCoefficient: 2,
		MaxRetryInterval:   time.Second,
	},
}

// Flow runs two activities in parallel and a third on their results,
// sleeps on a durable timer, waits for in.Signals signals, and returns
// everything it got. The test checks the result against what it sent.
func Flow(ctx workflow.Context, in Input) (Result, error) {
	var a *Activities
	f1 := workflow.ExecuteActivity[int](ctx, ActivityOptions, a.Step, in.N, 1)
	f2 := workflow.ExecuteActivity[int](ctx, ActivityOptions, a.Step, in.N, 2)
	r1, err := f1.Get(ctx)
	if err != nil {
		return Result{}, err
	}
	r2, err := f2.Get(ctx)
	if err != nil {
		return Result{}, err
	}
	r3, err := workflow.ExecuteActivity[int](ctx, ActivityOptions, a.Combine, r1, r2).Get(ctx)
	if err != nil {
		return Result{}, err
	}
	if err := workflow.Sleep(ctx, in.Timer); err != nil {
		return Result{}, err
	}
	ch := workflow.NewSignalChannel[int](ctx, SignalName)
	res := Result{Activities: [3]int{r1, r2, r3}, Total: r1 + r2 + r3}
	for len(res.Signals) < in.Signals {
		v, _ := ch.Receive(ctx)
		res.Signals = append(res.Signals, v)
		res.Total += v
	}
	return res, nil
}

// Activities are Flow's activities. Each call is written to Log before it
// returns, so the test can count applications across processes.
type Activities struct {
	Log *AppendLog
}

// Step returns StepResult(n, k) after a short pause (which widens the
// window in which a kill lands inside an activity).
func (a *Activities) Step(ctx context.Context, n, k int) (int, error) {
	if err := a.record(ctx, fmt.Sprintf("step%d", k)); err != nil {
		return 0, err
	}
	pause(ctx, time.Duration(20+20*(n%4))*time.Millisecond)
	return StepResult(n, k), nil
}

// Combine returns CombineResult(x, y).
func (a *Activities) Combine(ctx context.Context, x, y int) (int, error) {
	if err := a.record(ctx, "combine"); err != nil {
		return 0, err
	}
	pause(ctx, 40*time.Millisecond)
	return CombineResult(x, y), nil
}

func (a *Activities) record(ctx context.Context, what string) error {
	if a == nil || a.Log == nil {
		return nil
	}
	info := activity.GetInfo(ctx)
	return a.Log.Append(fmt.Sprintf("%s,%d,%s,%d", info.InstanceID, info.ScheduleID, what, info.Attempt))
}

func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ScheduleTick is the workflow the schedule scenarios' fires start: it
// returns its instance ID at once, so a fire's run is complete as soon as
// it ran, and a second run of the same fire could start right after.
func ScheduleTick(ctx workflow.Context) (string, error) {
	return workflow.GetInfo(ctx).InstanceID, nil
}

// UpdateName is the update Chain's last run takes.
const UpdateName = "apply"

// ChainInput is Chain's argument, carried from run to run by
// continue-as-new. Everything Chain returns follows from N, Hops and the
// update arguments 1..Updates the test sends.
type ChainInput struct {
	// N identifies the instance's numbers.
	N int
	// Hops is how many times the instance continues as new; each run but
	// the last runs one child workflow first.
	Hops int
	// Updates is how many updates the last run waits for.
	Updates int
	// Hop is the run's place in the chain, from 0.
	Hop int
	// Children are the results of the earlier runs' children, in order.
	Children []int
}

// ChainResult is what Chain returns.
type ChainResult struct {
	// Children are the children's results, one per hop, in order.
	Children []int
	// Updates are the update arguments in the order the last run applied
	// them.
	Updates []int
	// Total is the sum of the children's results and the updates'
	// answers: a child or an update applied twice, or lost, changes it.
	Total int
}

// LeafResult is what Leaf returns for (n, hop).
func LeafResult(n, hop int) int { return StepResult(n, 10+hop) + 1 }

// UpdateAnswer is Chain's answer to update k (the update's argument).
func UpdateAnswer(n, k int) int { return StepResult(n, 100+k) }

// ChildInstanceID is the instance ID of the child that run hop of chain
// instance id starts.
func ChildInstanceID(id string, hop int) string { return fmt.Sprintf("%s-c%d", id, hop) }

// Chain is the workload beside Flow for what Flow does not do: each of
// its first Hops runs starts a child workflow (Leaf), waits for its result
// and continues as new with it; the last run takes Updates updates named
// UpdateName, each running an activity inside the handler and answering
// UpdateAnswer(N, k), and returns once every one of them is applied.
// Earlier runs have no update handler, so an update that reaches them is
// rejected and the caller asks again.
func Chain(ctx workflow.Context, in ChainInput) (ChainResult, error) {
	if in.Hop < in.Hops {
		id := ChildInstanceID(workflow.GetInfo(ctx).InstanceID, in.Hop)
		r, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: id}, Leaf, in.N, in.Hop).Get(ctx)
		if err != nil {
			return ChainResult{}, err
		}
		in.Children = append(in.Children, r)
		in.Hop++
		return ChainResult{}, workflow.ContinueAsNew(ctx, in)
	}
	var a *Activities
	var applied []int
	err := workflow.SetUpdateHandler(ctx, UpdateName, func(ctx workflow.Context, k int) (int, error) {
		r, err := workflow.ExecuteActivity[int](ctx, ActivityOptions, a.Step, in.N, 100+k).Get(ctx)
		if err != nil {
			return 0, err
		}
		applied = append(applied, k)
		return r, nil
	})
	if err != nil {
		return ChainResult{}, err
	}
	if err := workflow.AwaitCondition(ctx, func() bool { return len(applied) >= in.Updates }); err != nil {
		return ChainResult{}, err
	}
	res := ChainResult{Children: in.Children, Updates: applied}
	for _, c := range in.Children {
		res.Total += c
	}
	for _, k := range applied {
		res.Total += UpdateAnswer(in.N, k)
	}
	return res, nil
}

// Leaf is Chain's child workflow: one activity, LeafResult(n, hop).
func Leaf(ctx workflow.Context, n, hop int) (int, error) {
	var a *Activities
	r, err := workflow.ExecuteActivity[int](ctx, ActivityOptions, a.Step, n, 10+hop).Get(ctx)
	if err != nil {
		return 0, err
	}
	return r + 1, nil
}

// Register registers Flow, Chain, Leaf, ScheduleTick and their activities
// with w.
func Register(w *worker.Worker, log *AppendLog) error {
	for _, wf := range []any{Flow, Chain, Leaf, ScheduleTick} {
		if err := w.RegisterWorkflow(wf); err != nil {
			return err
		}
	}
	return w.RegisterActivity(&Activities{Log: log})
}

// AppendLog is a file of lines, one per activity application, written
// with O_APPEND and one write per line: a process killed at any moment
// leaves whole lines only.
type AppendLog struct {
	worker string
	mu     sync.Mutex
	f      *os.File
}

// OpenAppendLog opens (creating) the log of worker name in dir: a file of
// its own, named after the worker and the process, so processes never
// share a file.
func OpenAppendLog(dir, name string) (*AppendLog, error) {
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, os.Getpid()))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &AppendLog{worker: name, f: f}, nil
}

// Append writes one line "<line>,<worker>\n" in a single write.
func (l *AppendLog) Append(line string) error {
	b := []byte(line + "," + l.worker + "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.f.Write(b)
	return err
}

// Close closes the file.
func (l *AppendLog) Close() error { return l.f.Close() }
