package worker

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// testEnv is a worker and a client on an embedded server.
type testEnv struct {
	b    *streams.Backend
	w    *Worker
	c    *client.Client
	ctx  context.Context
	logs *logCounter
}

// newTestEnv starts a server, a backend and a worker with opts (nil:
// defaults), registering what register does before the worker starts.
func newTestEnv(t testing.TB, opts *Options, register func(w *Worker)) *testEnv {
	t.Helper()
	b := testenv.Backend(t, testenv.Conn(t, testenv.Server(t)))
	return startTestWorker(t, b, opts, register)
}

// startTestWorker starts a worker on b; it stops when the test ends.
func startTestWorker(t testing.TB, b *streams.Backend, opts *Options, register func(w *Worker)) *testEnv {
	t.Helper()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	logs := &logCounter{}
	o.Logger = slog.New(logs)
	w := New(b, &o)
	register(w)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		cancel()
		_ = w.WaitForCompletion()
	})
	return &testEnv{b: b, w: w, c: client.New(b), ctx: context.Background(), logs: logs}
}

// logCounter is a slog handler that remembers the messages logged.
type logCounter struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

// count is how many messages logged contain part.
func (l *logCounter) count(part string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, part) {
			n++
		}
	}
	return n
}

var (
	reportRuns    atomic.Int32
	reportRelease = make(chan struct{})
	reportStarted = make(chan struct{}, 1)
)

// reportedOnce counts its runs and waits to be released.
func reportedOnce(ctx context.Context, n int) (int, error) {
	reportRuns.Add(1)
	select {
	case reportStarted <- struct{}{}:
	default:
	}
	<-reportRelease
	return n * 2, nil
}

func reportWorkflow(ctx workflow.Context, n int) (int, error) {
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, reportedOnce, n).Get(ctx)
}

// TestFailedReportIsRetriedNotTheActivity makes the workflow's inbox
// refuse messages (the task stream's largest message set to one byte)
// while an activity ends: its report fails, and the worker must retry the report,
// not run the activity again.
func TestFailedReportIsRetriedNotTheActivity(t *testing.T) {
	reportRuns.Store(0)
	reportRelease = make(chan struct{})
	e := newTestEnv(t, &Options{TaskRetryDelay: 20 * time.Millisecond}, func(w *Worker) {
		require.NoError(t, w.RegisterWorkflow(reportWorkflow))
		require.NoError(t, w.RegisterActivity(reportedOnce))
	})
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, reportWorkflow, 21)
	require.NoError(t, err)
	release := reportRelease
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	<-reportStarted

	// Nothing gets into the task stream until the limit goes.
	js := e.b.JetStream()
	st, err := js.Stream(e.ctx, "WF_default_TASKS")
	require.NoError(t, err)
	info, err := st.Info(e.ctx)
	require.NoError(t, err)
	open := info.Config
	full := open
	full.MaxMsgSize = 1
	_, err = js.UpdateStream(e.ctx, full)
	require.NoError(t, err)

	close(release)
	require.Eventually(t, func() bool { return e.logs.count("reporting the activity's outcome failed") >= 3 }, 10*time.Second, 10*time.Millisecond,
		"the report never failed")
	_, err = js.UpdateStream(e.ctx, open)
	require.NoError(t, err)

	got, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, 42, got)
	require.EqualValues(t, 1, reportRuns.Load(), "the activity ran again")
}
