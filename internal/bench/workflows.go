package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// The workflows and activities of the workloads. They do as little as
// their shape needs, so what is measured is the engine and NATS.

// Registered names: short and stable, whatever the Go names.
const (
	nameSimple     = "BenchSimple"
	nameFanout     = "BenchFanout"
	nameTreeNode   = "BenchTreeNode"
	nameTreeLeaf   = "BenchTreeLeaf"
	nameSleep      = "BenchSleep"
	nameWait       = "BenchWaitSignal"
	nameIncrement  = "BenchIncrement"
	namePayload    = "BenchPayload"
	nameText       = "BenchText"
	nameSimpleText = "BenchSimpleText"
	nameLocal      = "BenchSimpleLocal"

	// wakeSignal is the signal the signals workload sends.
	wakeSignal = "wake"
)

// activityOptions are the activities' options: the defaults (retries).
var activityOptions = workflow.DefaultActivityOptions

// register adds the workloads' workflows and activities to a worker.
func register(w *worker.Worker) error {
	return errors.Join(
		w.RegisterWorkflow(SimpleWorkflow, worker.WithName(nameSimple)),
		w.RegisterWorkflow(FanoutWorkflow, worker.WithName(nameFanout)),
		w.RegisterWorkflow(TreeNodeWorkflow, worker.WithName(nameTreeNode)),
		w.RegisterWorkflow(TreeLeafWorkflow, worker.WithName(nameTreeLeaf)),
		w.RegisterWorkflow(SleepWorkflow, worker.WithName(nameSleep)),
		w.RegisterWorkflow(WaitSignalWorkflow, worker.WithName(nameWait)),
		w.RegisterActivity(Increment, worker.WithName(nameIncrement)),
		w.RegisterActivity(Payload, worker.WithName(namePayload)),
		w.RegisterWorkflow(SimpleTextWorkflow, worker.WithName(nameSimpleText)),
		w.RegisterActivity(Text, worker.WithName(nameText)),
		w.RegisterWorkflow(SimpleLocalWorkflow, worker.WithName(nameLocal)),
	)
}

// Increment is the activity of simple and fanout: x+1.
func Increment(_ context.Context, x int) (int, error) {
	activityCount.Add(1)
	return x + 1, nil
}

// Payload is the activity of the tree's leaves: size bytes.
func Payload(_ context.Context, size int) ([]byte, error) {
	activityCount.Add(1)
	return make([]byte, size), nil
}

// SimpleWorkflow runs one activity and returns its result, x+1.
func SimpleWorkflow(ctx workflow.Context, x int) (int, error) {
	return workflow.ExecuteActivity[int](ctx, activityOptions, nameIncrement, x).Get(ctx)
}

// localOptions are the local activity's options: the defaults.
var localOptions = workflow.LocalActivityOptions{RetryOptions: workflow.DefaultRetryOptions}

// SimpleLocalWorkflow runs Increment as a local activity, inside its
// first workflow task, and returns its result: simple with --local.
func SimpleLocalWorkflow(ctx workflow.Context, x int) (int, error) {
	return workflow.ExecuteLocalActivity[int](ctx, localOptions, nameIncrement, x).Get(ctx)
}

// textPattern is what Text repeats: text, as real results are, so a
// compressing codec has something to find (zeros would flatter it).
const textPattern = `{"order":12345,"customer":"Jane Example","items":[{"sku":"A-1","qty":2,"price":"19.90"}],"status":"shipped"}` + "\n"

// Text is the activity of simple with --resultsize: size bytes of
// textPattern repeated.
func Text(_ context.Context, size int) (string, error) {
	activityCount.Add(1)
	return strings.Repeat(textPattern, size/len(textPattern)+1)[:size], nil
}

// SimpleTextWorkflow runs one activity returning size bytes of text and
// returns them: simple with --resultsize.
func SimpleTextWorkflow(ctx workflow.Context, size int) (string, error) {
	return workflow.ExecuteActivity[string](ctx, activityOptions, nameText, size).Get(ctx)
}

// FanoutWorkflow runs m activities in parallel and returns the sum of
// their results, m(m+1)/2.
func FanoutWorkflow(ctx workflow.Context, m int) (int, error) {
	fs := make([]workflow.Future[int], m)
	for i := range fs {
		fs[i] = workflow.ExecuteActivity[int](ctx, activityOptions, nameIncrement, i)
	}
	sum := 0
	for _, f := range fs {
		v, err := f.Get(ctx)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// TreeParams is a tree workflow's place in its tree and the tree's shape.
type TreeParams struct {
	Level      int `msgpack:"l"`
	Depth      int `msgpack:"d"`
	Fanout     int `msgpack:"f"`
	LeafFanout int `msgpack:"lf"`
	Activities int `msgpack:"a"`
	ResultSize int `msgpack:"r"`
}

// TreeNodeWorkflow is the root or a mid workflow of a tree: below the
// tree's depth it starts Fanout nodes of the next level, at the depth it
// starts LeafFanout leaves. It returns the bytes its subtree's activities
// returned.
func TreeNodeWorkflow(ctx workflow.Context, p TreeParams) (int, error) {
	var fs []workflow.Future[int]
	if p.Level < p.Depth {
		child := p
		child.Level++
		for range p.Fanout {
			fs = append(fs, workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, nameTreeNode, child))
		}
	} else {
		for range p.LeafFanout {
			fs = append(fs, workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, nameTreeLeaf, p.Activities, p.ResultSize))
		}
	}
	return sumOf(ctx, fs)
}

// TreeLeafWorkflow runs n activities in parallel, each returning size
// bytes, and returns how many bytes it received.
func TreeLeafWorkflow(ctx workflow.Context, n, size int) (int, error) {
	fs := make([]workflow.Future[[]byte], n)
	for i := range fs {
		fs[i] = workflow.ExecuteActivity[[]byte](ctx, activityOptions, namePayload, size)
	}
	total := 0
	for _, f := range fs {
		b, err := f.Get(ctx)
		if err != nil {
			return 0, err
		}
		total += len(b)
	}
	return total, nil
}

func sumOf(ctx workflow.Context, fs []workflow.Future[int]) (int, error) {
	sum := 0
	for _, f := range fs {
		v, err := f.Get(ctx)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// SleepWorkflow sleeps d (a timer the server fires) and returns.
func SleepWorkflow(ctx workflow.Context, d time.Duration) error {
	return workflow.Sleep(ctx, d)
}

// WaitSignalWorkflow waits for the wake signal and returns its value.
func WaitSignalWorkflow(ctx workflow.Context) (int, error) {
	v, ok := workflow.NewSignalChannel[int](ctx, wakeSignal).Receive(ctx)
	if !ok {
		return 0, fmt.Errorf("the %s signal channel closed", wakeSignal)
	}
	return v, nil
}
