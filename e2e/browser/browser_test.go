//go:build browser

// Package browser_test drives the web UI (package diag) in a real headless
// Chromium: a real embedded NATS server, a real worker running workflows,
// the UI served under a prefix, and the browser clicking through it.
//
// It needs Chromium: $JETFLOW_CHROMIUM, or chromium, chromium-browser or
// google-chrome on the PATH (on Debian: apt-get install chromium), so it is
// built only with the browser tag: plain `go test ./...` passes on any
// machine with Go, and ./test.sh (the README's full test command, which
// installs Chromium when it is missing) runs it with -tags browser. With
// JETFLOW_SCREENSHOTS=DIR it also writes the screenshots of the README into
// DIR (ui-list.png, ui-instance.png, ui-running.png).
package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/diag"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// prefix is where the test service mounts the UI.
const prefix = "/ops/workflows"

// The workflows of a small shop: orders, shipments, refunds, reviews.

type Item struct {
	SKU string
	Qty int
}

type Order struct {
	ID       string
	Customer string
	Items    []Item
	Total    float64
	Currency string
}

type Receipt struct {
	Reservation string
	Charge      string
	Tracking    string
	ApprovedBy  string
}

type Approval struct {
	By   string
	Note string
}

var quick = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryOptions:        workflow.RetryOptions{MaxAttempts: 3, FirstRetryInterval: 20 * time.Millisecond, BackoffCoefficient: 2, MaxRetryInterval: time.Second},
}

func ReserveInventory(ctx context.Context, items []Item) (string, error) {
	n := 0
	for _, it := range items {
		n += it.Qty
	}
	return fmt.Sprintf("rsv-%d-units", n), nil
}

func ChargeCard(ctx context.Context, customer string, amount float64) (string, error) {
	return fmt.Sprintf("ch_%s_%d", strings.ToLower(customer), int(amount*100)), nil
}

func BookCourier(ctx context.Context, order string) (string, error) {
	return "1Z" + strings.ToUpper(strings.ReplaceAll(order, "-", "")) + "US", nil
}

func SendConfirmation(ctx context.Context, customer, order string) error { return nil }

func IssueRefund(ctx context.Context, order string, amount float64) (string, error) {
	return "", workflow.NewError("PaymentDeclined", fmt.Sprintf("the card issuer declined the refund of %.2f for %s (code 51: insufficient funds)", amount, order))
}

func RecordNote(ctx context.Context, a Approval) (string, error) {
	return "noted by " + a.By, nil
}

// Parcels holds PackParcel until the test ends.
type Parcels struct{ release chan struct{} }

func (p *Parcels) PackParcel(ctx context.Context, order string, items []Item) (string, error) {
	select {
	case <-p.release:
		return "packed", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ProcessOrder reserves stock, charges the card, waits for a manager's
// approval of large orders, ships the parcel in a sub-workflow and sends a
// confirmation.
func ProcessOrder(ctx workflow.Context, o Order) (Receipt, error) {
	var r Receipt
	var err error
	if r.Reservation, err = workflow.ExecuteActivity[string](ctx, quick, ReserveInventory, o.Items).Get(ctx); err != nil {
		return r, err
	}
	if r.Charge, err = workflow.ExecuteActivity[string](ctx, quick, ChargeCard, o.Customer, o.Total).Get(ctx); err != nil {
		return r, err
	}
	if o.Total > 500 {
		a, _ := workflow.NewSignalChannel[Approval](ctx, "approve").Receive(ctx)
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		r.ApprovedBy = a.By
	}
	if err := workflow.Sleep(ctx, 120*time.Millisecond); err != nil { // the fraud check's grace period
		return r, err
	}
	if r.Tracking, err = workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{InstanceID: o.ID + "/shipment"}, ShipParcel, o.ID).Get(ctx); err != nil {
		return r, err
	}
	if _, err := workflow.ExecuteActivity[struct{}](ctx, quick, SendConfirmation, o.Customer, o.ID).Get(ctx); err != nil {
		return r, err
	}
	return r, nil
}

// ShipParcel books a courier.
func ShipParcel(ctx workflow.Context, order string) (string, error) {
	return workflow.ExecuteActivity[string](ctx, quick, BookCourier, order).Get(ctx)
}

// RefundPayment fails: the issuer declines.
func RefundPayment(ctx workflow.Context, order string, amount float64) (string, error) {
	return workflow.ExecuteActivity[string](ctx, quick, IssueRefund, order, amount).Get(ctx)
}

// ReviewOrder records each "note" signal with an activity until an
// "approve" signal; canceled, it ends as canceled.
func ReviewOrder(ctx workflow.Context, order string) (string, error) {
	notes := workflow.NewSignalChannel[Approval](ctx, "note")
	approve := workflow.NewSignalChannel[Approval](ctx, "approve")
	for {
		var note *Approval
		var done *Approval
		workflow.Select(ctx,
			workflow.Receive(notes, func(ctx workflow.Context, a Approval, ok bool) { note = &a }),
			workflow.Receive(approve, func(ctx workflow.Context, a Approval, ok bool) { done = &a }),
			workflow.Receive(ctx.Done(), func(workflow.Context, struct{}, bool) {}),
		)
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case done != nil:
			return "approved by " + done.By, nil
		case note != nil:
			if _, err := workflow.ExecuteActivity[string](ctx, quick, RecordNote, *note).Get(ctx); err != nil {
				return "", err
			}
		}
	}
}

// FulfillOrder packs the parcel, keeps an SLA timer and waits for the
// courier's pickup in a sub-workflow: pending work of every kind.
func FulfillOrder(ctx workflow.Context, o Order) error {
	var p *Parcels
	packed := workflow.ExecuteActivity[string](ctx, quick, p.PackParcel, o.ID, o.Items)
	sla := workflow.ScheduleTimer(ctx, 30*time.Minute)
	pickup := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{InstanceID: o.ID + "/pickup"}, AwaitPickup, o.ID)
	if _, err := packed.Get(ctx); err != nil {
		return err
	}
	if _, err := pickup.Get(ctx); err != nil {
		return err
	}
	_, err := sla.Get(ctx)
	return err
}

// AwaitPickup waits for the courier's "picked-up" signal.
func AwaitPickup(ctx workflow.Context, order string) (string, error) {
	a, _ := workflow.NewSignalChannel[Approval](ctx, "picked-up").Receive(ctx)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return "picked up by " + a.By, nil
}

// world is the test's service: NATS, a worker, and the UI under a prefix.
type world struct {
	t    *testing.T
	b    *streams.Backend
	c    *client.Client
	base string // the UI's URL, without a trailing slash
}

func newWorld(t *testing.T) *world {
	t.Helper()
	release := make(chan struct{})
	e := wftest.New(t, wftest.Options{
		Streams: []streams.Option{streams.WithNamespace("shop")},
		Worker:  &worker.Options{PollWait: 200 * time.Millisecond, TaskRetryDelay: 50 * time.Millisecond},
		Register: func(w *worker.Worker) {
			for _, wf := range []any{ProcessOrder, ShipParcel, RefundPayment, ReviewOrder, FulfillOrder, AwaitPickup} {
				require.NoError(t, w.RegisterWorkflow(wf))
			}
			for _, a := range []any{ReserveInventory, ChargeCard, BookCourier, SendConfirmation, IssueRefund, RecordNote, &Parcels{release: release}} {
				require.NoError(t, w.RegisterActivity(a))
			}
		},
	})
	t.Cleanup(func() { close(release) }) // before the worker stops
	b := e.Backend

	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, diag.NewServeMux(b)))
	ui := httptest.NewServer(mux)
	t.Cleanup(ui.Close)
	// Event streams stay open until the browser goes; close them when the
	// test ends, so ui.Close does not wait for them.
	t.Cleanup(ui.CloseClientConnections)
	return &world{t: t, b: b, c: e.Client, base: ui.URL + prefix}
}

func (w *world) ctx() context.Context { return testenv.Context(w.t, 30*time.Second) }

func (w *world) start(id string, wf any, args ...any) {
	w.t.Helper()
	_, err := w.c.CreateWorkflowInstance(w.ctx(), client.WorkflowInstanceOptions{InstanceID: id}, wf, args...)
	require.NoError(w.t, err)
}

// waitStatus waits, with a deadline, until the instance has the status.
func (w *world) waitStatus(id string, want streams.Status) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec, err := w.b.GetInstance(w.ctx(), id)
		if err == nil && rec.Status == want {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("instance %q did not become %s within 30s (last: %v, %v)", id, want, rec, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEvents waits until the instance's history has at least n events:
// the worker has taken it up and it waits for something.
func (w *world) waitEvents(id string, n int) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := w.c.GetWorkflowHistory(w.ctx(), &workflow.Instance{InstanceID: id})
		if err == nil && len(h.Events) >= n {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("instance %q did not reach %d events within 30s", id, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seed starts a realistic mix of workflows and waits until each is where
// the tests expect it: completed, failed, canceled, terminated, running.
func (w *world) seed() {
	w.t.Helper()
	items := []Item{{SKU: "MUG-BLUE", Qty: 2}, {SKU: "TEE-L-BLACK", Qty: 1}}
	w.start("refund-1039", RefundPayment, "order-1031", 89.9)
	w.start("order-1042", ProcessOrder, Order{ID: "order-1042", Customer: "Maria", Items: []Item{{SKU: "DESK-OAK", Qty: 1}, {SKU: "LAMP-BRASS", Qty: 2}}, Total: 749.9, Currency: "EUR"})
	w.start("order-1043", ProcessOrder, Order{ID: "order-1043", Customer: "Kenji", Items: items, Total: 59, Currency: "EUR"})
	w.start("review-1998", ReviewOrder, "order-1038")
	w.start("order-1044", ProcessOrder, Order{ID: "order-1044", Customer: "Amara", Items: items, Total: 129.5, Currency: "EUR"})
	w.start("order-1045", ProcessOrder, Order{ID: "order-1045", Customer: "Amara", Items: items, Total: 980, Currency: "EUR"})
	w.start("review-2001", ReviewOrder, "order-1047")
	w.start("order-1050", FulfillOrder, Order{ID: "order-1050", Customer: "Lucas", Items: items, Total: 240, Currency: "EUR"})

	// order-1042 waits for a manager's approval after its charge.
	w.waitEvents("order-1042", 5)
	require.NoError(w.t, w.c.SignalWorkflow(w.ctx(), "order-1042", "approve", Approval{By: "maria.k", Note: "regular customer"}))
	w.waitEvents("review-1998", 1)
	require.NoError(w.t, w.c.CancelWorkflowInstance(w.ctx(), &workflow.Instance{InstanceID: "review-1998"}))
	w.waitEvents("order-1045", 5)
	require.NoError(w.t, w.c.TerminateWorkflowInstance(w.ctx(), &workflow.Instance{InstanceID: "order-1045"}, "duplicate of order-1044"))

	for id, st := range map[string]streams.Status{
		"refund-1039": streams.StatusFailed,
		"order-1042":  streams.StatusCompleted,
		"order-1043":  streams.StatusCompleted,
		"order-1044":  streams.StatusCompleted,
		"review-1998": streams.StatusCanceled,
		"order-1045":  streams.StatusTerminated,
	} {
		w.waitStatus(id, st)
	}
	w.waitEvents("review-2001", 1)
	w.waitEvents("order-1050", 4)
	w.waitEvents("order-1050/pickup", 1)
}

// seeded is how many instances seed leaves, by status.
var seeded = map[string]int{
	"completed":  6, // three orders and their shipments
	"failed":     1,
	"canceled":   1,
	"terminated": 1,
	"running":    3, // review-2001, order-1050 and its pickup
}

// chromium finds the browser, or fails the test saying how to get one.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("JETFLOW_CHROMIUM"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("JETFLOW_CHROMIUM=%q: %v", p, err)
		}
		return path
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no Chromium found: install Debian's chromium package (apt-get install chromium), " +
		"or set JETFLOW_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // script exceptions and errors the browser logged
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1360, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first Run starts the browser, whose life is bound to the context
	// of that call: it gets none, and the wait has its own deadline.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start Chromium")
	case <-time.After(60 * time.Second):
		t.Fatal("Chromium did not start within 60s")
	}
	br := &browser{t: t, ctx: ctx}
	// Collect what goes wrong in the pages: an exception in the script,
	// or an error the browser logs (a Content-Security-Policy violation,
	// a failed request).
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			br.problem("exception: " + ev.ExceptionDetails.Text + " " + exceptionText(ev.ExceptionDetails))
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			if ev.Entry.Level == cdplog.EntryLevelError {
				br.problem(fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	}()
	return br
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

func (br *browser) problem(p string) {
	br.mu.Lock()
	defer br.mu.Unlock()
	br.problems = append(br.problems, p)
}

// checkProblems fails the test if the pages had problems.
func (br *browser) checkProblems(t *testing.T) {
	br.mu.Lock()
	defer br.mu.Unlock()
	for _, p := range br.problems {
		t.Errorf("the browser reported: %s", p)
	}
}

// do runs actions with a deadline.
func (br *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	ctx, cancel := context.WithTimeout(br.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		br.t.Fatalf("%s: %v", what, err)
	}
}

// click clicks the first element css selects, waiting for it to exist.
// It finds and clicks in one evaluation: a live update may replace the
// element between the two steps of chromedp.Click, which then fails with
// "Could not find node with given id".
func (br *browser) click(what, css string) {
	br.t.Helper()
	q, _ := json.Marshal(css)
	br.waitJS(what, `(() => { const e = document.querySelector(`+string(q)+`); if (!e) return false; e.click(); return true })()`)
}

// eval evaluates a JavaScript expression with a deadline.
func eval[T any](br *browser, expr string) T {
	br.t.Helper()
	ctx, cancel := context.WithTimeout(br.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		br.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits, with a deadline, until the JavaScript expression is true.
// Errors while a page loads count as false.
func (br *browser) waitJS(what, expr string) {
	br.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for {
		ctx, cancel := context.WithTimeout(br.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			br.t.Fatalf("timed out after 30s waiting for %s (%s); last error: %v", what, expr, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// open navigates and waits for the element.
func (br *browser) open(url, waitFor string) {
	br.t.Helper()
	br.do("open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

// rows lists the instance IDs and statuses the list shows.
func (br *browser) rows() []map[string]string {
	br.t.Helper()
	return eval[[]map[string]string](br, `[...document.querySelectorAll('[data-testid="instance-row"]')].map(r => ({id: r.dataset.instanceId, status: r.dataset.status, workflow: r.dataset.workflow}))`)
}

// screenshot writes a full-page PNG into $JETFLOW_SCREENSHOTS, if set.
func (br *browser) screenshot(name string) {
	br.t.Helper()
	dir := os.Getenv("JETFLOW_SCREENSHOTS")
	if dir == "" {
		return
	}
	require.NoError(br.t, os.MkdirAll(dir, 0o755))
	// Let the fonts settle and the relative times read "just now".
	br.waitJS("fonts", `document.fonts.status === "loaded"`)
	ctx, cancel := context.WithTimeout(br.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(br.t, err, "screenshot")
	require.NoError(br.t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	br.t.Logf("wrote %s", filepath.Join(dir, name))
}

// sel is a CSS selector for a test hook.
func sel(testid string, attrs ...string) string {
	s := `[data-testid="` + testid + `"]`
	for i := 0; i+1 < len(attrs); i += 2 {
		s += `[data-` + attrs[i] + `="` + attrs[i+1] + `"]`
	}
	return s
}

// count is a JavaScript expression counting the elements of a selector.
func count(selector string) string {
	return fmt.Sprintf("document.querySelectorAll(%q).length", selector)
}

func TestBrowser(t *testing.T) {
	w := newWorld(t)
	w.seed()
	br := newBrowser(t)
	defer br.checkProblems(t)
	total := 0
	for _, n := range seeded {
		total += n
	}

	t.Run("list", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/", sel("instance-list"))
		br.waitJS("every seeded instance listed", count(sel("instance-row"))+fmt.Sprintf(" === %d", total))
		require.Equal(t, "shop", eval[string](br, `document.querySelector('[data-testid="namespace"] .ns-name').textContent`))
		// The tabs count each status.
		for st, n := range seeded {
			got := eval[string](br, fmt.Sprintf(`document.querySelector('%s .count').textContent`, sel("status-tab", "status", st)))
			require.Equal(t, fmt.Sprint(n), got, "count of %s", st)
		}
		// The prefix is kept by every link.
		href := eval[string](br, `document.querySelector('[data-testid="instance-link"]').getAttribute('href')`)
		require.True(t, strings.HasPrefix(href, prefix+"/instances/"), href)
		br.waitJS("the live indicator", `document.querySelector('[data-testid="live-indicator"]').dataset.state === "on"`)
		br.screenshot("ui-list.png")
	})

	t.Run("filter by status", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/", sel("instance-list"))
		br.click("click the failed tab", sel("status-tab", "status", "failed"))
		br.waitJS("only failed instances", `location.search.includes("status=failed") && `+count(sel("instance-row"))+` === 1 && `+count(sel("instance-row", "status", "failed"))+` === 1`)
		require.Equal(t, "refund-1039", br.rows()[0]["id"])
		require.Equal(t, "true", eval[string](br, `document.querySelector('`+sel("status-tab", "status", "failed")+`').dataset.active`))

		br.click("click the running tab", sel("status-tab", "status", "running"))
		br.waitJS("only running instances", `location.search.includes("status=running") && `+count(sel("instance-row"))+fmt.Sprintf(` === %d`, seeded["running"])+` && `+count(sel("instance-row", "status", "running"))+fmt.Sprintf(` === %d`, seeded["running"]))
	})

	t.Run("filter by workflow", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/", sel("instance-list"))
		br.do("filter by ProcessOrder",
			chromedp.SendKeys(chromedp.CSS(sel("workflow-filter")), "ProcessOrder"),
		)
		br.click("filter by ProcessOrder", sel("filter-submit"))
		br.waitJS("only ProcessOrder instances", `location.search.includes("workflow=ProcessOrder") && `+count(sel("instance-row"))+` === 4 && `+count(sel("instance-row", "workflow", "ProcessOrder"))+` === 4`)
		// The status tabs count within the workflow.
		require.Equal(t, "3", eval[string](br, fmt.Sprintf(`document.querySelector('%s .count').textContent`, sel("status-tab", "status", "completed"))))
	})

	t.Run("search by ID", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/", sel("instance-list"))
		br.do("search for 1043",
			chromedp.SendKeys(chromedp.CSS(sel("id-search")), "1043"),
		)
		br.click("search for 1043", sel("filter-submit"))
		br.waitJS("order-1043 and its shipment", `location.search.includes("q=1043") && `+count(sel("instance-row"))+` === 2`)
		for _, r := range br.rows() {
			require.Contains(t, r["id"], "1043")
		}
		br.do("search for nothing",
			chromedp.SetValue(chromedp.CSS(sel("id-search")), "no-such-order"),
		)
		br.click("search for nothing", sel("filter-submit"))
		br.waitJS("the empty state", count(sel("empty"))+` === 1 && `+count(sel("instance-row"))+` === 0`)
	})

	t.Run("search attribute and batch count", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/", sel("instance-list"))
		br.do("filter by a search attribute",
			chromedp.SendKeys(chromedp.CSS(sel("search-filter")), "customer=nobody"),
		)
		br.click("filter by a search attribute", sel("filter-submit"))
		br.waitJS("the filter in the address, and no match", `location.search.includes("search=customer%3Dnobody") && `+
			count(sel("empty"))+` === 1 && document.querySelector('`+sel("search-filter")+`').value === "customer=nobody"`)

		// Cancel all… counts the running instances of the filter first and
		// does nothing until confirmed.
		br.open(w.base+"/?workflow=ReviewOrder", sel("instance-list"))
		br.click("open cancel all", sel("batch-cancel"))
		br.waitJS("the dry-run count", `document.querySelector('`+sel("batch-count")+`') !== null && `+
			`document.querySelector('`+sel("batch-count")+`').dataset.count === "1"`)
		w.waitStatus("review-2001", streams.StatusRunning)
	})

	t.Run("list updates live", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/", sel("instance-list"))
		br.waitJS("the live connection", `document.querySelector('[data-testid="live-indicator"]').dataset.state === "on"`)
		eval[chromedp.Void](br, `window.__notReloaded = true`)
		w.start("order-1051", ProcessOrder, Order{ID: "order-1051", Customer: "Noor", Items: []Item{{SKU: "MUG-BLUE", Qty: 1}}, Total: 19, Currency: "EUR"})
		br.waitJS("order-1051 to appear", count(sel("instance-row", "instance-id", "order-1051")))
		br.waitJS("order-1051 to complete", count(sel("instance-row", "instance-id", "order-1051")+`[data-status="completed"]`))
		require.True(t, eval[bool](br, `window.__notReloaded === true`), "the page was reloaded")
	})

	t.Run("instance follows a running workflow", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/?q=review-2001", sel("instance-link"))
		br.click("open review-2001", sel("instance-link"))
		br.waitJS("the instance page", `document.querySelector('[data-testid="status"]')?.dataset.status === "running" && `+count(sel("history")))
		br.waitJS("the live connection", `document.querySelector('[data-testid="live-indicator"]').dataset.state === "on"`)
		require.Equal(t, "review-2001", eval[string](br, `document.querySelector('[data-testid="instance-id"]').textContent`))
		eval[chromedp.Void](br, `window.__notReloaded = true`)
		before := eval[int](br, count(sel("event")))

		require.NoError(t, w.c.SignalWorkflow(w.ctx(), "review-2001", "note", Approval{By: "support", Note: "customer called about the delivery date"}))
		br.waitJS("the signal in the history", count(sel("event", "kind", "SignalReceived"))+` === 1`)
		br.waitJS("the activity it ran", count(sel("event", "kind", "ActivityCompleted"))+` === 1`)
		require.Greater(t, eval[int](br, count(sel("event"))), before)
		require.True(t, eval[bool](br, `window.__notReloaded === true`), "the page was reloaded")
		require.Contains(t, eval[string](br, `document.querySelector('[data-testid="event"][data-kind="SignalReceived"]').textContent`), "customer called")
	})

	t.Run("signal from the page", func(t *testing.T) {
		br.t = t
		// Invalid JSON: the dialog says so and nothing is sent.
		br.click("open the signal dialog", sel("action-signal"))
		br.do("open the signal dialog", chromedp.WaitVisible(chromedp.CSS(sel("signal-dialog"))))
		br.do("fill in bad JSON",
			chromedp.SendKeys(chromedp.CSS(sel("signal-name")), "note"),
			chromedp.SendKeys(chromedp.CSS(sel("signal-value")), `{"By": "ops",`),
		)
		br.click("fill in bad JSON", sel("confirm-signal"))
		br.waitJS("the JSON error", `!document.querySelector('[data-testid="signal-error"]').hidden`)
		require.Contains(t, eval[string](br, `document.querySelector('[data-testid="signal-error"]').textContent`), "Not valid JSON")
		require.True(t, eval[bool](br, `window.__notReloaded === true && document.querySelector('[data-testid="signal-dialog"]').open`))

		// Valid JSON: sent, and the page says so, without reloading.
		br.do("fix the JSON",
			chromedp.SetValue(chromedp.CSS(sel("signal-value")), `{"By": "ops", "Note": "stock checked from the browser"}`),
		)
		br.click("fix the JSON", sel("confirm-signal"))
		br.waitJS("the flash", `document.querySelector('[data-testid="flash"]')?.dataset.kind === "ok"`)
		require.Contains(t, eval[string](br, `document.querySelector('[data-testid="flash"]').textContent`), `Signal "note" sent`)
		br.waitJS("the dialog to close", `!document.querySelector('[data-testid="signal-dialog"]').open`)
		br.waitJS("the second signal in the history", count(sel("event", "kind", "SignalReceived"))+` === 2`)
		require.Contains(t, eval[string](br, `[...document.querySelectorAll('[data-testid="event"][data-kind="SignalReceived"]')].pop().textContent`), "stock checked from the browser")
		require.True(t, eval[bool](br, `window.__notReloaded === true`), "the page was reloaded")
	})

	t.Run("cancel from the page", func(t *testing.T) {
		br.t = t
		br.waitJS("the live connection", `document.querySelector('[data-testid="live-indicator"]').dataset.state === "on"`)
		br.click("ask to cancel", sel("action-cancel"))
		br.do("ask to cancel", chromedp.WaitVisible(chromedp.CSS(sel("cancel-dialog"))))
		// Dismissing the dialog changes nothing.
		br.click("keep it running", sel("cancel-dialog")+` [data-close]`)
		br.waitJS("the dialog to close", `!document.querySelector('[data-testid="cancel-dialog"]').open`)
		require.Equal(t, "running", eval[string](br, `document.querySelector('[data-testid="status"]').dataset.status`))

		br.click("confirm the cancel", sel("action-cancel"))
		br.do("confirm the cancel", chromedp.WaitVisible(chromedp.CSS(sel("confirm-cancel"))))
		br.click("confirm the cancel", sel("confirm-cancel"))
		br.waitJS("the flash", `document.querySelector('[data-testid="flash"]')?.textContent.includes("Cancel requested")`)
		br.waitJS("the canceled badge", `document.querySelector('[data-testid="status"]').dataset.status === "canceled"`)
		br.waitJS("the actions to go", count(sel("action-cancel"))+` === 0`)
		br.waitJS("the end in the history", count(sel("event", "kind", "WorkflowCanceled"))+` === 1`)
		require.True(t, eval[bool](br, `window.__notReloaded === true`), "the page was reloaded")
		w.waitStatus("review-2001", streams.StatusCanceled)
	})

	t.Run("finished instance", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/instances/order-1042", sel("history"))
		require.Equal(t, "completed", eval[string](br, `document.querySelector('[data-testid="status"]').dataset.status`))
		for _, kind := range []string{"WorkflowStarted", "ActivityScheduled", "ActivityCompleted", "SignalReceived", "TimerScheduled", "TimerFired", "SubWorkflowScheduled", "SubWorkflowCompleted", "WorkflowCompleted"} {
			require.Positive(t, eval[int](br, count(sel("event", "kind", kind))), kind)
		}
		require.Contains(t, eval[string](br, `document.querySelector('[data-testid="result"]').textContent`), "maria.k")
		// The child's link leads to its page, which links back.
		br.click("open the shipment", sel("child-link"))
		br.waitJS("the shipment page", `document.querySelector('[data-testid="instance-id"]')?.textContent === "order-1042/shipment"`)
		require.Equal(t, "order-1042", eval[string](br, `document.querySelector('[data-testid="parent-link"]').textContent`))
		br.open(w.base+"/instances/order-1042", sel("history"))
		br.screenshot("ui-instance.png")
	})

	t.Run("failed instance", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/instances/refund-1039", sel("error"))
		require.Equal(t, "PaymentDeclined", eval[string](br, `document.querySelector('[data-testid="error"] [data-testid="failure-type"]').textContent`))
		require.Contains(t, eval[string](br, `document.querySelector('[data-testid="error"] [data-testid="failure-message"]').textContent`), "insufficient funds")
	})

	t.Run("running instance with pending work", func(t *testing.T) {
		br.t = t
		br.open(w.base+"/instances/order-1050", sel("pending"))
		br.waitJS("pending work of each kind", count(sel("pending-activity"))+` === 1 && `+count(sel("pending-timer"))+` === 1 && `+count(sel("pending-subworkflow"))+` === 1`)
		require.Equal(t, "running", eval[string](br, `document.querySelector('[data-testid="status"]').dataset.status`))
		br.screenshot("ui-running.png")
	})
}
