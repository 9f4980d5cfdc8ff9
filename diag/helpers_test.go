package diag

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// The workflows and activities the tests run on a real worker.

// OrderInput is the input of Order.
type OrderInput struct {
	Customer string
	Items    []string
	Total    float64
}

// Receipt is the result of Order.
type Receipt struct {
	Reserved   int
	Charge     string
	Shipment   string
	ApprovedBy string
}

// Approval is the value of the "approve" signal.
type Approval struct {
	By string
}

// Reserve reserves the items of an order.
func Reserve(ctx context.Context, items []string) (int, error) { return len(items), nil }

// Charge charges a customer.
func Charge(ctx context.Context, customer string, total float64) (string, error) {
	return fmt.Sprintf("ch_%s_%.2f", customer, total), nil
}

// Ship is the sub-workflow of Order.
func Ship(ctx workflow.Context, order string) (string, error) {
	return "parcel for " + order, nil
}

var activityOpts = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryOptions:        workflow.RetryOptions{MaxAttempts: 3, FirstRetryInterval: 100 * time.Millisecond, BackoffCoefficient: 2},
}

// Order runs two activities, sleeps, starts a child whose ID holds a slash,
// and waits for an "approve" signal.
func Order(ctx workflow.Context, in OrderInput) (Receipt, error) {
	id := workflow.GetInfo(ctx).InstanceID
	n, err := workflow.ExecuteActivity[int](ctx, activityOpts, Reserve, in.Items).Get(ctx)
	if err != nil {
		return Receipt{}, err
	}
	charge, err := workflow.ExecuteActivity[string](ctx, activityOpts, Charge, in.Customer, in.Total).Get(ctx)
	if err != nil {
		return Receipt{}, err
	}
	if err := workflow.Sleep(ctx, 20*time.Millisecond); err != nil {
		return Receipt{}, err
	}
	ship, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{InstanceID: id + "/ship"}, Ship, id).Get(ctx)
	if err != nil {
		return Receipt{}, err
	}
	a, _ := workflow.NewSignalChannel[Approval](ctx, "approve").Receive(ctx)
	if ctx.Err() != nil {
		return Receipt{}, ctx.Err()
	}
	return Receipt{Reserved: n, Charge: charge, Shipment: ship, ApprovedBy: a.By}, nil
}

// Decline fails with a typed error.
func Decline(ctx workflow.Context, customer string) error {
	return workflow.NewError("PaymentDeclined", "card of "+customer+" declined: insufficient funds")
}

// Explode panics, so its failure has a stack.
func Explode(ctx workflow.Context) error {
	var m map[string]int
	m["boom"]++
	return nil
}

// Collect gathers "approve" signals until one is by "stop"; canceled, it
// ends as canceled.
func Collect(ctx workflow.Context) ([]string, error) {
	ch := workflow.NewSignalChannel[Approval](ctx, "approve")
	var by []string
	for {
		var a Approval
		workflow.Select(ctx,
			workflow.Receive(ch, func(ctx workflow.Context, v Approval, ok bool) { a = v }),
			workflow.Receive(ctx.Done(), func(workflow.Context, struct{}, bool) {}),
		)
		if ctx.Err() != nil {
			return by, ctx.Err()
		}
		if a.By == "stop" {
			return by, nil
		}
		by = append(by, a.By)
	}
}

// Blocked is an activity that runs until the test lets it go.
type Blocked struct{ release chan struct{} }

// Hold waits for the release or its context.
func (b *Blocked) Hold(ctx context.Context, what string) (string, error) {
	select {
	case <-b.release:
		return what + " done", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Busy has pending work of every kind at once: an activity that waits, a
// long timer, and a child that waits for a signal.
func Busy(ctx workflow.Context) error {
	var b *Blocked
	act := workflow.ExecuteActivity[string](ctx, activityOpts, b.Hold, "packing")
	timer := workflow.ScheduleTimer(ctx, time.Hour)
	child := workflow.CreateSubWorkflowInstance[[]string](ctx, workflow.SubWorkflowOptions{InstanceID: workflow.GetInfo(ctx).InstanceID + "-child"}, Collect)
	_, _ = act.Get(ctx)
	_, _ = child.Get(ctx)
	_, _ = timer.Get(ctx)
	return ctx.Err()
}

// Stubborn, asked to cancel, cleans up with an activity that waits for the
// test's end before it ends.
func Stubborn(ctx workflow.Context) error {
	if err := workflow.Sleep(ctx, time.Hour); err == nil {
		return nil
	}
	dctx := workflow.NewDisconnectedContext(ctx)
	var b *Blocked
	_, _ = workflow.ExecuteActivity[string](dctx, activityOpts, b.Hold, "cleanup").Get(dctx)
	return ctx.Err()
}

// Counter continues as new until n reaches 0.
func Counter(ctx workflow.Context, n int) (int, error) {
	if n > 0 {
		return 0, workflow.ContinueAsNew(ctx, n-1)
	}
	return 42, nil
}

// env is a test's world: an embedded server, a worker and the UI.
type env struct {
	t       *testing.T
	b       *streams.Backend
	c       *client.Client
	s       *server
	h       http.Handler
	release chan struct{}
}

// testConfig shortens the UI's timings.
func testConfig() config {
	cfg := defaultConfig()
	cfg.recheck = 300 * time.Millisecond
	cfg.listRecheck = 300 * time.Millisecond
	cfg.listGap = 100 * time.Millisecond
	cfg.instanceGap = 20 * time.Millisecond
	cfg.keepAlive = time.Second
	return cfg
}

func newEnv(t *testing.T) *env {
	t.Helper()
	release := make(chan struct{})
	we := wftest.New(t, wftest.Options{
		Prefix: "diag",
		Worker: &worker.Options{PollWait: 200 * time.Millisecond, UnknownNameTimeout: time.Second, TaskRetryDelay: 50 * time.Millisecond},
		Register: func(w *worker.Worker) {
			for _, wf := range []any{Order, Ship, Decline, Explode, Collect, Busy, Counter, Stubborn} {
				require.NoError(t, w.RegisterWorkflow(wf))
			}
			for _, a := range []any{Reserve, Charge, &Blocked{release: release}} {
				require.NoError(t, w.RegisterActivity(a))
			}
		},
	})
	t.Cleanup(func() { close(release) }) // before the worker stops
	e := &env{t: t, b: we.Backend, c: we.Client, release: release}
	e.s = newServer(e.b, testConfig())
	e.h = e.s.handler()
	return e
}

// ctx is a context for one test's NATS work.
func (e *env) ctx() context.Context { return testenv.Context(e.t, 60*time.Second) }

// start starts a workflow instance.
func (e *env) start(id string, wf any, args ...any) *workflow.Instance {
	e.t.Helper()
	return e.startWith(client.WorkflowInstanceOptions{InstanceID: id}, wf, args...)
}

// startWith starts wf with opts.
func (e *env) startWith(opts client.WorkflowInstanceOptions, wf any, args ...any) *workflow.Instance {
	e.t.Helper()
	inst, err := e.c.CreateWorkflowInstance(e.ctx(), opts, wf, args...)
	require.NoError(e.t, err)
	return inst
}

// waitStatus waits until the instance has the status.
func (e *env) waitStatus(id string, want streams.Status) {
	e.t.Helper()
	waitFor(e.t, 30*time.Second, fmt.Sprintf("instance %q to be %s", id, want), func() bool {
		rec, err := e.b.GetInstance(e.ctx(), id)
		return err == nil && rec.Status == want
	})
}

// waitCounts waits until the list's counts per status are want. The
// counters follow the registry asynchronously (the index writer), so a
// test that checks counts waits for them to settle first.
func (e *env) waitCounts(want map[streams.Status]int) {
	e.t.Helper()
	waitFor(e.t, 30*time.Second, fmt.Sprintf("counts %v", want), func() bool {
		page, err := e.b.ListInstances(e.ctx(), streams.ListOptions{Limit: 1})
		if err != nil {
			return false
		}
		got := map[streams.Status]int{}
		for st, n := range page.Counts {
			if n != 0 {
				got[st] = n
			}
		}
		return maps.Equal(got, want)
	})
}

// waitEvent waits until the current run of the instance has an event of
// the kind (n of them, at least).
func (e *env) waitEvents(id string, kind string, n int) {
	e.t.Helper()
	waitFor(e.t, 30*time.Second, fmt.Sprintf("%d %s events in %q", n, kind, id), func() bool {
		h, err := e.c.GetWorkflowHistory(e.ctx(), &workflow.Instance{InstanceID: id})
		if err != nil {
			return false
		}
		got := 0
		for _, ev := range h.Events {
			if ev.Kind.String() == kind {
				got++
			}
		}
		return got >= n
	})
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, within, what, cond)
}

// response is a served request.
type response struct {
	Code   int
	Header http.Header
	Body   string
}

// get serves a GET of target (a path with query) by the UI at the root.
func (e *env) get(target string) response {
	return serve(e.h, httptest.NewRequest(http.MethodGet, target, nil))
}

// post serves a same-origin form POST.
func (e *env) post(target string, form url.Values) response {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return serve(e.h, r)
}

func serve(h http.Handler, r *http.Request) response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	return response{Code: res.StatusCode, Header: res.Header, Body: string(body)}
}

// instPath is the path of an instance's page at the root.
func instPath(id string) string { return "/instances/" + pathSegment(id) }

func mustRead(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	require.NoError(t, err)
	return d
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return tm
}
