package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/workflow"
)

// One embedded server serves the package's tests; each test gets a
// namespace of its own, so tests do not see each other's instances.
var (
	testServer    *embedded.Server
	testPollLimit = time.Hour // result waits in tests are woken by notices only
)

func TestMain(m *testing.M) {
	os.Exit(testenv.RunShared(m, func(s *embedded.Server) { testServer = s }))
}

// testEnv is a fresh namespace with a backend and a client on it.
type testEnv struct {
	t   *testing.T
	ctx context.Context
	b   *streams.Backend
	c   *Client
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	// Payloads stay inline: the tests check the refusal of one too large.
	b := testenv.Namespace(t, testServer, "client", streams.WithPayloadThreshold(-1))
	c := NewWithOptions(b, &Options{ResultPollInterval: testPollLimit, SettleTimeout: 5 * time.Second})
	return &testEnv{t: t, ctx: testenv.Context(t, 30*time.Second), b: b, c: c}
}

// Workflow functions the tests start. No worker runs them.

func Greet(ctx workflow.Context, name string) (string, error) { return "hello " + name, nil }

func Add(ctx workflow.Context, a, b int) (int, error) { return a + b, nil }

func Nothing(ctx workflow.Context) error { return nil }

func Variadic(ctx workflow.Context, prefix string, n ...int) (int, error) { return len(n), nil }

type Order struct {
	ID    string
	Items []string
	Total float64
}

func PlaceOrder(ctx workflow.Context, o Order) (Order, error) { return o, nil }

// inbox fetches n messages from a queue's inbox (acking them), failing the
// test if they do not arrive in time.
func (e *testEnv) inbox(queue string, n int) []*streams.InboxMessage {
	e.t.Helper()
	q, err := e.b.InboxQueue(e.ctx, queue)
	require.NoError(e.t, err)
	var got []*streams.InboxMessage
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		msgs, err := q.Fetch(e.ctx, n-len(got), time.Second)
		require.NoError(e.t, err)
		for _, m := range msgs {
			require.NoError(e.t, m.Err)
			require.NoError(e.t, m.AckSync(e.ctx))
			got = append(got, m)
		}
	}
	require.Len(e.t, got, n, "inbox messages of queue %q", queue)
	return got
}

// noInbox checks that a queue's inbox is empty. Publishes are acknowledged
// before the calls under test return, so a message that was written is
// delivered at once; the short wait only bounds the check.
func (e *testEnv) noInbox(queue string) {
	e.t.Helper()
	q, err := e.b.InboxQueue(e.ctx, queue)
	require.NoError(e.t, err)
	msgs, err := q.Fetch(e.ctx, 10, 200*time.Millisecond)
	require.NoError(e.t, err)
	for _, m := range msgs {
		e.t.Errorf("unexpected inbox message: %+v", m.Event)
	}
}

// record reads an instance's registry entry.
func (e *testEnv) record(id string) *streams.InstanceRecord {
	e.t.Helper()
	rec, err := e.b.GetInstance(e.ctx, id)
	require.NoError(e.t, err)
	return rec
}

// finish does what a worker does when a run ends: it updates the registry
// entry and publishes a result notice.
func (e *testEnv) finish(id string, status streams.Status, result any, failure *history.Failure) {
	e.t.Helper()
	require.NoError(e.t, e.tryFinish(id, status, result, failure))
}

func (e *testEnv) tryFinish(id string, status streams.Status, result any, failure *history.Failure) error {
	rec, err := e.b.GetInstance(e.ctx, id)
	if err != nil {
		return err
	}
	rec.Status = status
	rec.FinishedAt = time.Now().UTC()
	rec.UpdatedAt = rec.FinishedAt
	rec.Failure = failure
	if result != nil {
		if rec.Result, err = converter.Default.Encode(result); err != nil {
			return err
		}
	}
	if _, err := e.b.UpdateInstance(e.ctx, rec, rec.Revision); err != nil {
		return err
	}
	return e.b.PublishResultNotice(streams.ResultNotice{InstanceID: id, ExecutionID: rec.ExecutionID, Status: status})
}

// continueAsNew does what a worker does when a run continues as new: the
// old run's history gets its final event, and the registry entry moves on
// to the next run. It returns the new run.
func (e *testEnv) continueAsNew(id string) (string, error) {
	rec, err := e.b.GetInstance(e.ctx, id)
	if err != nil {
		return "", err
	}
	old := rec.ExecutionID
	if err := e.tryCommit(id, old, history.Event{Kind: history.WorkflowContinuedAsNew}); err != nil {
		return "", err
	}
	next := streams.ContinuedRunID(old) // as the worker derives it
	rec.ContinueTo(next, time.Now().UTC())
	if _, err := e.b.UpdateInstance(e.ctx, rec, rec.Revision); err != nil {
		return "", err
	}
	return next, e.b.PublishResultNotice(streams.ResultNotice{InstanceID: id, ExecutionID: old, Status: streams.StatusContinuedAsNew})
}

// commit appends events to a run's history as one commit, numbering them
// after the events already there.
func (e *testEnv) commit(id, run string, events ...history.Event) {
	e.t.Helper()
	require.NoError(e.t, e.tryCommit(id, run, events...))
}

func (e *testEnv) tryCommit(id, run string, events ...history.Event) error {
	h, err := e.b.ReadHistory(e.ctx, id, run)
	if err != nil {
		return err
	}
	n := int64(len(h.Events()))
	for i := range events {
		n++
		events[i].ID = n
		if events[i].Time.IsZero() {
			events[i].Time = time.Now().UTC()
		}
	}
	_, err = e.b.Commit(e.ctx, id, run, h.LastSeq, &history.Commit{Events: events})
	return err
}

// encode encodes a value with the default converter.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := converter.Default.Encode(v)
	require.NoError(t, err)
	return b
}

// decode decodes a payload with the default converter.
func decode[T any](t *testing.T, p []byte) T {
	t.Helper()
	var v T
	require.NoError(t, converter.Default.Decode(p, &v))
	return v
}

// waiting reports on the returned channel each time GetWorkflowResult has
// read the registry, found no result, and waits for a notice: a notice
// published after that must wake it (the poll interval is an hour).
func waiting(c *Client) <-chan string {
	ch := make(chan string, 16)
	c.beforeWait = func(id string) { ch <- id }
	return ch
}

// worker plays a worker against a waiting GetWorkflowResult: each step
// runs once the waiter is waiting for a notice. Check the returned
// function's error after the wait.
func (e *testEnv) worker(steps ...func() error) (done func() error) {
	ready := waiting(e.c)
	errc := make(chan error, 1)
	go func() {
		for i, step := range steps {
			select {
			case <-ready:
			case <-time.After(20 * time.Second):
				errc <- fmt.Errorf("step %d: the waiter never waited", i+1)
				return
			}
			if err := step(); err != nil {
				errc <- fmt.Errorf("step %d: %w", i+1, err)
				return
			}
		}
		errc <- nil
	}()
	return func() error {
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("the simulated worker did not finish")
		}
	}
}

// queryStub serves the queries of a queue for the length of the test.
func (e *testEnv) queryStub(queue string, handle func(*streams.QueryRequest) *streams.QueryResponse) {
	e.t.Helper()
	sub, err := e.b.ServeQueries(queue, handle)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { sub.Unsubscribe() })
	require.NoError(e.t, e.b.Conn().Flush())
}
