package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// tally counts which worker ran each instance's activity.
type tally struct {
	mu   sync.Mutex
	runs map[string][]string // instance -> worker names
}

func (t *tally) record(inst, worker string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.runs[inst] = append(t.runs[inst], worker)
}

type Recorder struct {
	Worker string
	Tally  *tally
}

func (r *Recorder) Record(ctx context.Context) (string, error) {
	r.Tally.record(activity.GetInfo(ctx).InstanceID, r.Worker)
	time.Sleep(5 * time.Millisecond) // long enough for both workers to get a share
	return r.Worker, nil
}

func Recorded(ctx workflow.Context) (string, error) {
	var r *Recorder
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, r.Record).Get(ctx)
}

func TestTwoWorkersShareTheLoad(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		tl := &tally{runs: map[string][]string{}}
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Recorded))
			must(t, w.RegisterActivity(&Recorder{Worker: "w1", Tally: tl}))
		})
		// A second worker on its own connection, as another process would be.
		nc, err := e.srv.Connect()
		require.NoError(t, err)
		defer nc.Close()
		b2, err := streams.New(nc, streams.WithNamespace(e.b.Namespace()))
		require.NoError(t, err)
		o2 := opts
		w2 := worker.New(b2, &o2)
		must(t, w2.RegisterWorkflow(Recorded))
		must(t, w2.RegisterActivity(&Recorder{Worker: "w2", Tally: tl}))
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, w2.Start(ctx))
		defer func() { cancel(); _ = w2.WaitForCompletion() }()

		const n = 60
		var insts []*workflow.Instance
		for i := 0; i < n; i++ {
			inst, err := e.c.CreateWorkflowInstance(ctxFor(t), client.WorkflowInstanceOptions{}, Recorded)
			require.NoError(t, err)
			insts = append(insts, inst)
		}
		byWorker := map[string]int{}
		for _, inst := range insts {
			res, err := client.GetWorkflowResult[string](ctxFor(t), e.c, inst, 30*time.Second)
			require.NoError(t, err)
			byWorker[res]++
		}
		tl.mu.Lock()
		defer tl.mu.Unlock()
		require.Len(t, tl.runs, n)
		for inst, ws := range tl.runs {
			assert.Len(t, ws, 1, "instance %s ran its activity %d times", inst, len(ws))
		}
		assert.Positive(t, byWorker["w1"], "worker 1 got work: %v", byWorker)
		assert.Positive(t, byWorker["w2"], "worker 2 got work: %v", byWorker)
	})
}

func TestWorkerRestartMidWorkflow(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		register := func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Collect))
		}
		e := newEnv(t, opts, register)
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Collect, 2)
		require.NoError(t, err)
		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "num", 1))
		waitFor(t, 10*time.Second, "the first signal to be committed", func() bool {
			h, err := e.b.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
			if err != nil {
				return false
			}
			for _, ev := range h.Events() {
				if ev.Name == "num" {
					return true
				}
			}
			return false
		})
		e.cancel() // graceful stop: in-flight tasks finish

		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "num", 2))
		e.startWorker(register) // a new worker, with an empty cache
		res, err := client.GetWorkflowResult[[]int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2}, res)
	})
}

// TestClientInAnotherProcess waits for a result from a separate OS process
// that knows only the server's URL, the namespace and the instance ID.
func TestClientInAnotherProcess(t *testing.T) {
	e := newEnv(t, worker.Options{}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(Collect))
	})
	ctx := ctxFor(t)
	_, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "remote"}, Collect, 1)
	require.NoError(t, err)

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperClientProcess$", "-test.v")
	cmd.Env = append(os.Environ(),
		"JETFLOW_HELPER_URL="+e.srv.ClientURL(),
		"JETFLOW_HELPER_NAMESPACE="+e.b.Namespace(),
		"JETFLOW_HELPER_INSTANCE=remote")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	// The other process is waiting; now the workflow gets what it needs.
	waitFor(t, 20*time.Second, "the helper process to wait", func() bool {
		return strings.Contains(out.String(), "waiting")
	})
	require.NoError(t, e.c.SignalWorkflow(ctx, "remote", "num", 99))
	require.NoError(t, cmd.Wait(), out.String())
	assert.Contains(t, out.String(), "result: [99]")
}

// TestHelperClientProcess is the other process of TestClientInAnotherProcess;
// run on its own (without the environment it needs) it does nothing.
func TestHelperClientProcess(t *testing.T) {
	url := os.Getenv("JETFLOW_HELPER_URL")
	if url == "" {
		return
	}
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace(os.Getenv("JETFLOW_HELPER_NAMESPACE")))
	require.NoError(t, err)
	c := client.New(b)
	fmt.Println("waiting")
	res, err := client.GetWorkflowResult[[]int](context.Background(), c, &workflow.Instance{InstanceID: os.Getenv("JETFLOW_HELPER_INSTANCE")}, 30*time.Second)
	require.NoError(t, err)
	fmt.Printf("result: %v\n", res)
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
