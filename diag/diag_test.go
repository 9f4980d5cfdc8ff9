package diag

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// seedList starts instances of every status: two failed, one completed
// (Counter, after two continues), one canceled, two running.
func seedList(e *env) {
	e.t.Helper()
	e.start("pay-1", Decline, "ann")
	e.start("pay-2", Decline, "bob")
	e.start("col-1", Collect)
	e.start("col-2", Collect)
	e.start("col-3", Collect)
	e.start("col-4", Collect)
	e.start("count-1", Counter, 2)
	e.waitStatus("pay-1", streams.StatusFailed)
	e.waitStatus("pay-2", streams.StatusFailed)
	e.waitStatus("count-1", streams.StatusCompleted)
	for _, id := range []string{"col-1", "col-2", "col-3", "col-4"} {
		e.waitEvents(id, "WorkflowStarted", 1)
	}
	require.NoError(e.t, e.c.CancelWorkflowInstance(e.ctx(), &workflow.Instance{InstanceID: "col-2"}))
	require.NoError(e.t, e.c.SignalWorkflow(e.ctx(), "col-4", "approve", Approval{By: "stop"}))
	e.waitStatus("col-2", streams.StatusCanceled)
	e.waitStatus("col-4", streams.StatusCompleted)
	e.waitCounts(map[streams.Status]int{streams.StatusRunning: 2, streams.StatusCompleted: 2,
		streams.StatusFailed: 2, streams.StatusCanceled: 1})
}

func TestList(t *testing.T) {
	e := newEnv(t)
	seedList(e)
	all := []string{"pay-1", "pay-2", "col-1", "col-2", "col-3", "col-4", "count-1"}

	tests := []struct {
		name   string
		target string
		want   []string // the IDs listed, in any order
		check  func(t *testing.T, body string)
	}{
		{name: "all", target: "/", want: all, check: func(t *testing.T, body string) {
			assert.Equal(t, "7", tabCount(body, ""))
			assert.Equal(t, "2", tabCount(body, "running"))
			assert.Equal(t, "2", tabCount(body, "completed"))
			assert.Equal(t, "2", tabCount(body, "failed"))
			assert.Equal(t, "1", tabCount(body, "canceled"))
			assert.Equal(t, "0", tabCount(body, "terminated"))
			assert.Contains(t, body, `data-testid="status-tab" data-status="" data-active="true"`)
			assert.False(t, has(body, "pager-older"))
			assert.False(t, has(body, "pager-newer"))
			assert.Contains(t, text(body), "Page 1 · 7 instances")
			// Every row links its instance.
			assert.Contains(t, body, `href="/instances/col-1" data-testid="instance-link"`)
		}},
		{name: "status", target: "/?status=failed", want: []string{"pay-1", "pay-2"}, check: func(t *testing.T, body string) {
			assert.Contains(t, body, `data-testid="status-tab" data-status="failed" data-active="true"`)
			// Counts ignore the status filter.
			assert.Equal(t, "7", tabCount(body, ""))
			for _, r := range rows(body) {
				assert.Equal(t, "failed", r.Status)
			}
		}},
		{name: "workflow", target: "/?workflow=Collect", want: []string{"col-1", "col-2", "col-3", "col-4"}, check: func(t *testing.T, body string) {
			// Counts follow the workflow filter; the tabs keep it.
			assert.Equal(t, "4", tabCount(body, ""))
			assert.Equal(t, "1", tabCount(body, "completed"))
			assert.Contains(t, body, `href="/?status=running&amp;workflow=Collect"`)
			assert.Contains(t, body, `value="Collect"`)
		}},
		{name: "workflow and status", target: "/?workflow=Collect&status=running", want: []string{"col-1", "col-3"}},
		{name: "search ignores case", target: "/?q=PAY-2", want: []string{"pay-2"}, check: func(t *testing.T, body string) {
			assert.Contains(t, body, `value="PAY-2"`)
			assert.True(t, has(body, "filter-clear"))
		}},
		{name: "search by part", target: "/?q=col", want: []string{"col-1", "col-2", "col-3", "col-4"}},
		{name: "nothing matches", target: "/?q=nothing-like-this", want: nil, check: func(t *testing.T, body string) {
			assert.True(t, has(body, "empty"))
			assert.Contains(t, body, "No instances match")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.get(tt.target)
			require.Equal(t, http.StatusOK, res.Code, res.Body)
			assert.ElementsMatch(t, tt.want, rowIDs(res.Body))
			if tt.check != nil {
				tt.check(t, res.Body)
			}
		})
	}

	t.Run("newest first", func(t *testing.T) {
		res := e.get("/?workflow=Collect&status=running")
		// col-3 was started after col-1, and neither has finished.
		assert.Equal(t, []string{"col-3", "col-1"}, rowIDs(res.Body))
	})

	t.Run("bad input", func(t *testing.T) {
		for _, target := range []string{"/?status=sleeping", "/?limit=0", "/?limit=many", "/?limit=100000", "/?cursor=not-a-cursor"} {
			res := e.get(target)
			assert.Equal(t, http.StatusBadRequest, res.Code, target)
			assert.True(t, has(res.Body, "error-page"), target)
		}
		res := e.get("/?status=sleeping")
		assert.Contains(t, text(res.Body), `unknown status "sleeping"`)
		res = e.get("/?cursor=not-a-cursor")
		assert.Contains(t, res.Body, "follow the paging links")
	})

	t.Run("paging", func(t *testing.T) {
		var pages [][]string
		target := "/?limit=2"
		for target != "" {
			res := e.get(target)
			require.Equal(t, http.StatusOK, res.Code)
			ids := rowIDs(res.Body)
			require.NotEmpty(t, ids)
			require.LessOrEqual(t, len(ids), 2)
			if len(pages) > 0 {
				// Newer goes back one page.
				newer := href(res.Body, "pager-newer")
				require.NotEmpty(t, newer)
				assert.Equal(t, pages[len(pages)-1], rowIDs(e.get(newer).Body))
				assert.Contains(t, text(res.Body), fmt.Sprintf("Page %d", len(pages)+1))
			} else {
				assert.False(t, has(res.Body, "pager-newer"))
			}
			pages = append(pages, ids)
			target = href(res.Body, "pager-older")
			require.Less(t, len(pages), 10, "paging does not end")
		}
		require.Len(t, pages, 4)
		var seen []string
		for _, p := range pages {
			seen = append(seen, p...)
		}
		assert.ElementsMatch(t, all, seen, "every instance once")
		// The whole list in one page has the same order.
		assert.Equal(t, seen, rowIDs(e.get("/?limit=100").Body))
	})

	t.Run("fragment", func(t *testing.T) {
		res := e.get("/fragments/instances?status=failed")
		require.Equal(t, http.StatusOK, res.Code)
		assert.NotContains(t, res.Body, "<html")
		assert.Contains(t, res.Body, `id="list-live" data-live-section`)
		assert.ElementsMatch(t, []string{"pay-1", "pay-2"}, rowIDs(res.Body))
		assert.Equal(t, http.StatusBadRequest, e.get("/fragments/instances?status=nope").Code)
	})
}

func TestEmptyList(t *testing.T) {
	e := newEnv(t)
	res := e.get("/")
	require.Equal(t, http.StatusOK, res.Code)
	assert.True(t, has(res.Body, "empty"))
	assert.Contains(t, res.Body, "No workflow instances yet")
	assert.Contains(t, res.Body, `data-testid="namespace"`)
	assert.Contains(t, res.Body, e.b.Namespace())
}

func TestFinishedInstance(t *testing.T) {
	e := newEnv(t)
	const id = "order/7 #1" // a slash, a space and a hash: escaped in every URL
	e.startWith(client.WorkflowInstanceOptions{InstanceID: id, Memo: map[string]any{"ticket": "SUP-7"},
		SearchAttributes: map[string]string{"customer": "ann"}},
		Order, OrderInput{Customer: "ann", Items: []string{"mug", "tee"}, Total: 42.5})
	e.waitEvents(id, "SubWorkflowCompleted", 1)
	require.NoError(t, e.c.SignalWorkflow(e.ctx(), id, "approve", Approval{By: "maria"}))
	e.waitStatus(id, streams.StatusCompleted)

	res := e.get(instPath(id))
	require.Equal(t, http.StatusOK, res.Code, res.Body)
	body, txt := res.Body, text(res.Body)
	assert.Equal(t, "/instances/order%2F7%20%231", instPath(id))

	assert.Contains(t, body, `data-testid="status" data-status="completed"`)
	assert.Contains(t, txt, `data-testid="instance-id">order/7 #1<`)
	assert.Contains(t, txt, `data-testid="workflow">Order<`)
	assert.Contains(t, txt, `"Customer": "ann"`)
	assert.Contains(t, txt, `"ApprovedBy": "maria"`)
	assert.Contains(t, txt, `"Charge": "ch_ann_42.50"`)
	assert.Contains(t, txt, "11 events")
	assert.Contains(t, txt, `Memo <span class="mono">ticket</span></dt><dd><pre class="json" data-testid="memo">"SUP-7"`)
	assert.Contains(t, txt, `Search <span class="mono">customer</span></dt><dd class="mono" data-testid="search-attribute">ann<`)
	assert.False(t, has(body, "action-cancel"), "no actions on a finished run")
	assert.Contains(t, body, `data-testid="pending" hidden`)

	// The timeline: every event, in order, with what it is about.
	assert.Equal(t, []string{
		"WorkflowStarted",
		"ActivityScheduled", "ActivityCompleted",
		"ActivityScheduled", "ActivityCompleted",
		"TimerScheduled", "TimerFired",
		"SubWorkflowScheduled", "SubWorkflowCompleted",
		"SignalReceived",
		"WorkflowCompleted",
	}, kinds(body))
	assert.Contains(t, txt, `<span class="ev-title">Reserve</span>`)
	assert.Contains(t, txt, `<span class="ev-title">Charge</span>`)
	assert.Contains(t, txt, `["ann", 42.5]`, "activity arguments on one line")
	assert.Contains(t, txt, `"ch_ann_42.50"`)
	assert.Contains(t, txt, `timer of 20ms`)
	assert.Contains(t, txt, `{"By": "maria"}`)
	assert.Contains(t, txt, "+0.000s")
	assert.Contains(t, body, `href="#event-2" title="answers event #2"`, "a completion links its scheduling")
	assert.Contains(t, body, `<span class="took">after `)
	assert.Contains(t, txt, "up to 3 attempts · retry after 100ms ×2, at most 10s · start-to-close 10s", "the default cap, 100 times the first interval, is stored")

	// The child is linked, and links back to its parent.
	child := id + "/ship"
	assert.Contains(t, body, fmt.Sprintf(`href="%s" data-testid="child-link" data-instance-id="order/7 #1/ship"`, instPath(child)))
	cres := e.get(instPath(child))
	require.Equal(t, http.StatusOK, cres.Code)
	d, err := e.c.DescribeWorkflowInstance(e.ctx(), id)
	require.NoError(t, err)
	assert.Contains(t, text(cres.Body), fmt.Sprintf(`href="%s" data-testid="parent-link" data-instance-id="order/7 #1">order/7 #1<`, instanceURL("", id, d.ExecutionID)))
	assert.Contains(t, text(cres.Body), `"parcel for order/7 #1"`)

	// The JSON API has the same.
	var desc client.InstanceDescription
	api := e.get("/api/instances/" + pathSegment(id))
	require.Equal(t, http.StatusOK, api.Code)
	require.NoError(t, json.Unmarshal([]byte(api.Body), &desc))
	assert.Equal(t, streams.StatusCompleted, desc.Status)
	assert.Equal(t, 11, desc.HistoryLength)
	var h apiHistoryResponse
	api = e.get("/api/instances/" + pathSegment(id) + "/history")
	require.Equal(t, http.StatusOK, api.Code)
	require.NoError(t, json.Unmarshal([]byte(api.Body), &h))
	require.Len(t, h.Events, 11)
	assert.Equal(t, "SignalReceived", h.Events[9].Kind.String())
	assert.Equal(t, []any{map[string]any{"By": "maria"}}, h.Events[9].Args)
}

func TestFailedInstances(t *testing.T) {
	e := newEnv(t)
	e.start("pay-9", Decline, "carol")
	e.start("boom", Explode)
	e.waitStatus("pay-9", streams.StatusFailed)
	e.waitStatus("boom", streams.StatusFailed)

	res := e.get(instPath("pay-9"))
	require.Equal(t, http.StatusOK, res.Code)
	assert.Contains(t, res.Body, `data-testid="status" data-status="failed"`)
	assert.True(t, has(res.Body, "error"))
	assert.Contains(t, res.Body, `data-testid="failure-type">PaymentDeclined<`)
	assert.Contains(t, res.Body, `data-testid="failure-message">card of carol declined: insufficient funds<`)
	assert.False(t, has(res.Body, "result"))

	res = e.get(instPath("boom"))
	require.Equal(t, http.StatusOK, res.Code)
	assert.Contains(t, res.Body, `data-testid="failure-type">PanicError<`)
	assert.Contains(t, text(res.Body), "assignment to entry in nil map")
	// The stack is there, collapsed.
	assert.Regexp(t, `<details class="stack" id="stack-run"><summary>Stack trace</summary><pre data-testid="failure-stack">[^<]*Explode`, res.Body)
}

func TestRunningInstance(t *testing.T) {
	e := newEnv(t)
	e.start("busy-1", Busy)
	e.waitEvents("busy-1", "SubWorkflowScheduled", 1)
	e.waitEvents("busy-1-child", "WorkflowStarted", 1)

	res := e.get(instPath("busy-1"))
	require.Equal(t, http.StatusOK, res.Code)
	body := res.Body
	assert.Contains(t, body, `data-testid="status" data-status="running"`)
	assert.Regexp(t, `data-testid="pending"\s*>`, body, "pending work shown")
	assert.Contains(t, body, `data-testid="pending-activity" data-name="Hold"`)
	assert.Equal(t, 1, strings.Count(body, `data-testid="pending-timer"`))
	assert.Equal(t, 1, strings.Count(body, `data-testid="pending-subworkflow"`))
	assert.Contains(t, text(body), `<td class="mono">1h</td>`, "the timer's length")
	assert.Contains(t, text(body), ">in 59m ", "when the timer fires")
	assert.Contains(t, body, `href="/instances/busy-1-child"`)
	assert.Contains(t, text(body), "running for")
	for _, hook := range []string{"action-cancel", "action-terminate", "action-signal", "cancel-dialog", "terminate-dialog", "signal-dialog", "confirm-cancel", "confirm-terminate", "confirm-signal"} {
		assert.True(t, has(body, hook), hook)
	}
	// The page follows the instance.
	assert.Regexp(t, `^/instances/busy-1/events\?v=\d+-\d+$`, bodyAttr(body, "data-live-events"))
	assert.Equal(t, "/instances/busy-1/fragment", bodyAttr(body, "data-live-fragment"))

	// The fragment has the live sections and nothing else.
	frag := e.get("/instances/busy-1/fragment")
	require.Equal(t, http.StatusOK, frag.Code)
	assert.NotContains(t, frag.Body, "<html")
	assert.NotContains(t, frag.Body, "<dialog")
	for _, id := range []string{"instance-head", "instance-summary", "instance-outcome", "instance-pending", "instance-children", "instance-history"} {
		assert.Contains(t, frag.Body, `id="`+id+`"`)
	}

	// Cancel requested shows among the pending work.
	require.NoError(t, e.c.CancelWorkflowInstance(e.ctx(), &workflow.Instance{InstanceID: "busy-1-child"}))
	e.waitStatus("busy-1-child", streams.StatusCanceled)
	// Busy now waits for its activity, which waits for the test's end.
	waitFor(t, 30*time.Second, "the child's end in the parent", func() bool {
		return strings.Contains(e.get(instPath("busy-1")).Body, `data-kind="SubWorkflowFailed"`)
	})
	body = e.get(instPath("busy-1")).Body
	assert.Equal(t, 0, strings.Count(body, `data-testid="pending-subworkflow"`))
	assert.Contains(t, body, `<span class="state state-failed">failed</span>`)
}

func TestCancelRequested(t *testing.T) {
	e := newEnv(t)
	e.start("stubborn", Stubborn)
	e.waitEvents("stubborn", "TimerScheduled", 1)
	require.NoError(t, e.c.CancelWorkflowInstance(e.ctx(), &workflow.Instance{InstanceID: "stubborn"}))
	e.waitEvents("stubborn", "ActivityScheduled", 1)

	body := e.get(instPath("stubborn")).Body
	assert.Contains(t, body, `data-testid="status" data-status="running"`)
	assert.True(t, has(body, "cancel-requested"))
	assert.Contains(t, body, `data-testid="pending-activity" data-name="Hold"`)
	assert.False(t, has(body, "pending-timer"), "the timer was canceled")
	assert.Equal(t, []string{"WorkflowStarted", "TimerScheduled", "CancelRequested", "TimerCanceled", "ActivityScheduled"}, kinds(body))
	assert.Contains(t, text(body), `<span class="ev-title">timer #2</span> <a class="ref" href="#event-2"`)
}

func TestEarlierRuns(t *testing.T) {
	e := newEnv(t)
	e.start("count-9", Counter, 2)
	e.waitStatus("count-9", streams.StatusCompleted)
	d, err := e.c.DescribeWorkflowInstance(e.ctx(), "count-9")
	require.NoError(t, err)
	require.Len(t, d.Runs, 2)

	res := e.get(instPath("count-9"))
	require.Equal(t, http.StatusOK, res.Code)
	for _, run := range d.Runs {
		assert.Contains(t, res.Body, fmt.Sprintf(`href="/instances/count-9?run=%s" data-testid="run-link" data-run="%s"`, run, run))
	}
	assert.Contains(t, text(res.Body), `<b>#3</b>`)
	assert.Contains(t, text(res.Body), "42")

	first := e.get("/instances/count-9?run=" + d.Runs[0])
	require.Equal(t, http.StatusOK, first.Code)
	assert.Contains(t, first.Body, `data-testid="status" data-status="continued-as-new"`)
	assert.Contains(t, first.Body, "earlier run")
	assert.Contains(t, first.Body, `data-testid="run">`+d.Runs[0]+`<`)
	assert.Equal(t, []string{"WorkflowStarted", "WorkflowContinuedAsNew"}, kinds(first.Body))
	assert.Contains(t, first.Body, fmt.Sprintf(`next run <a class="mono" href="/instances/count-9?run=%s">`, d.Runs[1]))
	assert.Empty(t, bodyAttr(first.Body, "data-live-events"), "an earlier run does not change")
	assert.False(t, has(first.Body, "action-cancel"))

	second := e.get("/instances/count-9?run=" + d.Runs[1])
	assert.Contains(t, second.Body, fmt.Sprintf(`href="/instances/count-9?run=%s" data-testid="run-link" data-run="%s">%s<`, d.Runs[0], d.Runs[0], d.Runs[0]), "continues link")
	assert.Contains(t, second.Body, `next run <a class="mono" href="/instances/count-9">`)

	// The current run named explicitly is the current run.
	cur := e.get("/instances/count-9?run=" + d.ExecutionID)
	assert.Contains(t, cur.Body, `data-testid="status" data-status="completed"`)
	assert.NotContains(t, cur.Body, "earlier run")
}

func TestInstanceErrors(t *testing.T) {
	e := newEnv(t)
	e.start("known", Decline, "x")
	e.waitStatus("known", streams.StatusFailed)
	long := strings.Repeat("x", streams.MaxInstanceIDLength+1)

	tests := []struct {
		name    string
		target  string
		code    int
		message string
	}{
		{"unknown instance", "/instances/nobody-here", http.StatusNotFound, "There is no workflow instance &#34;nobody-here&#34;"},
		{"unknown instance, escaped", "/instances/a%2Fb", http.StatusNotFound, "There is no workflow instance &#34;a/b&#34;"},
		{"ID too long", "/instances/" + long, http.StatusBadRequest, "Invalid instance ID"},
		{"ID not UTF-8", "/instances/%FF", http.StatusBadRequest, "Invalid instance ID"},
		{"bad run", "/instances/known?run=a.b", http.StatusBadRequest, "is not an execution ID"},
		{"unknown run", "/instances/known?run=nope", http.StatusNotFound, "Run not found"},
		{"unknown page", "/no/such/page", http.StatusNotFound, "Page not found"},
		{"unknown fragment", "/instances/nobody-here/fragment", http.StatusNotFound, "not found"},
		{"bad confirm action", "/instances/known/confirm?action=explode", http.StatusBadRequest, "is not an action"},
		{"unknown API instance", "/api/instances/nobody-here", http.StatusNotFound, `"error":`},
		{"unknown API run", "/api/instances/known/history?run=nope", http.StatusNotFound, `"error":`},
		{"bad API status", "/api/instances?status=nope", http.StatusBadRequest, `"error":`},
		{"unknown events", "/instances/nobody-here/events", http.StatusNotFound, "no instance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.get(tt.target)
			assert.Equal(t, tt.code, res.Code)
			assert.Contains(t, res.Body, tt.message)
		})
	}
}

func TestActions(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"to-cancel", "to-terminate", "to-signal"} {
		e.start(id, Collect)
		e.waitEvents(id, "WorkflowStarted", 1)
	}
	e.start("done", Decline, "x")
	e.waitStatus("done", streams.StatusFailed)
	confirmed := func(kv ...string) url.Values {
		v := url.Values{"confirm": {"yes"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	// followFlash follows an action's redirect with its cookie, as a
	// browser would, and returns the page.
	followFlash := func(t *testing.T, res response) response {
		t.Helper()
		require.Equal(t, http.StatusSeeOther, res.Code, res.Body)
		r := httptest.NewRequest(http.MethodGet, res.Header.Get("Location"), nil)
		for _, c := range (&http.Response{Header: res.Header}).Cookies() {
			r.AddCookie(c)
		}
		return serve(e.h, r)
	}

	t.Run("cancel", func(t *testing.T) {
		res := e.post(instPath("to-cancel")+"/cancel", confirmed())
		assert.Equal(t, "/instances/to-cancel", res.Header.Get("Location"))
		page := followFlash(t, res)
		assert.Contains(t, page.Body, `data-testid="flash" data-kind="ok">Cancel requested<`)
		e.waitStatus("to-cancel", streams.StatusCanceled)
		// The message is shown once.
		assert.False(t, has(e.get(instPath("to-cancel")).Body, "flash"))
	})

	t.Run("terminate", func(t *testing.T) {
		res := e.post(instPath("to-terminate")+"/terminate", confirmed("reason", "duplicate order"))
		page := followFlash(t, res)
		assert.Contains(t, page.Body, "Terminate requested")
		e.waitStatus("to-terminate", streams.StatusTerminated)
		page = e.get(instPath("to-terminate"))
		assert.Contains(t, page.Body, `data-testid="terminate-reason-shown">duplicate order<`)
		assert.Contains(t, page.Body, `data-kind="WorkflowTerminated"`)
	})

	t.Run("signal", func(t *testing.T) {
		// Bad JSON: the page comes back with the error and the form filled
		// in, and nothing is sent.
		bad := e.post(instPath("to-signal")+"/signal", confirmed("name", "approve", "value", `{"By": "mallory"`))
		require.Equal(t, http.StatusBadRequest, bad.Code)
		assert.Contains(t, bad.Body, `data-testid="flash" data-kind="error">Signal not sent: the value is not valid JSON`)
		assert.Contains(t, text(bad.Body), `data-testid="signal-value">{"By": "mallory"</textarea>`)
		assert.Contains(t, bad.Body, `value="approve" placeholder="approve" data-testid="signal-name"`)
		assert.Contains(t, bad.Body, `data-testid="signal-dialog" data-open`)
		assert.Regexp(t, `data-testid="signal-error">Signal not sent`, bad.Body)

		for _, v := range []url.Values{
			confirmed("name", "approve", "value", `{"By": "x"} {"By": "y"}`), // two values
			confirmed("name", "", "value", `{"By": "x"}`),                    // no name
		} {
			res := e.post(instPath("to-signal")+"/signal", v)
			assert.Equal(t, http.StatusBadRequest, res.Code)
			assert.Contains(t, res.Body, "Signal not sent")
		}

		page := followFlash(t, e.post(instPath("to-signal")+"/signal", confirmed("name", "approve", "value", `{"By": "ann"}`)))
		assert.Contains(t, page.Body, `data-testid="flash" data-kind="ok">Signal &#34;approve&#34; sent<`)
		followFlash(t, e.post(instPath("to-signal")+"/signal", confirmed("name", "approve", "value", "  {\n \"By\": \"stop\"\n}  ")))
		res, err := client.GetWorkflowResult[[]string](e.ctx(), e.c, &workflow.Instance{InstanceID: "to-signal"}, 0)
		require.NoError(t, err)
		assert.Equal(t, []string{"ann"}, res, "only the good signals arrived")
	})

	t.Run("not confirmed", func(t *testing.T) {
		res := e.post(instPath("to-signal")+"/cancel", url.Values{})
		assert.Equal(t, http.StatusBadRequest, res.Code)
		assert.Contains(t, res.Body, "Actions must be confirmed")
	})

	t.Run("finished instance", func(t *testing.T) {
		page := followFlash(t, e.post(instPath("done")+"/cancel", confirmed()))
		assert.Contains(t, page.Body, `data-testid="flash" data-kind="error">Cancel failed:`)
		assert.Contains(t, page.Body, "already finished")
	})

	t.Run("unknown instance", func(t *testing.T) {
		res := e.post(instPath("nobody")+"/terminate", confirmed())
		assert.Equal(t, http.StatusNotFound, res.Code)
		assert.Contains(t, res.Body, "Instance not found")
	})

	t.Run("bad run", func(t *testing.T) {
		res := e.post(instPath("done")+"/cancel", confirmed("run", "a.b"))
		assert.Equal(t, http.StatusBadRequest, res.Code)
	})

	t.Run("confirmation page", func(t *testing.T) {
		// Without JavaScript, the buttons lead to a page that asks first.
		for _, action := range []string{"cancel", "terminate", "signal"} {
			res := e.get(instPath("done") + "/confirm?action=" + action + "&run=r1")
			require.Equal(t, http.StatusOK, res.Code)
			assert.Contains(t, res.Body, `data-testid="confirm-`+action+`"`)
			assert.Contains(t, res.Body, `action="/instances/done/`+action+`"`)
			assert.Contains(t, res.Body, `name="confirm" value="yes"`)
			assert.Contains(t, res.Body, `name="run" value="r1"`)
		}
	})
}

func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	e.start("victim", Collect)
	e.waitEvents("victim", "WorkflowStarted", 1)
	form := url.Values{"confirm": {"yes"}}.Encode()

	tests := []struct {
		name    string
		headers map[string]string
	}{
		{"Sec-Fetch-Site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Origin", map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, action := range []string{"cancel", "terminate", "signal"} {
				r := httptest.NewRequest(http.MethodPost, "http://jetflow.internal"+instPath("victim")+"/"+action, strings.NewReader(form+"&name=x"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for k, v := range tt.headers {
					r.Header.Set(k, v)
				}
				res := serve(e.h, r)
				assert.Equal(t, http.StatusForbidden, res.Code, action)
				assert.Contains(t, res.Body, "Cross-origin request refused")
			}
		})
	}
	// Nothing reached the instance.
	h, err := e.c.GetWorkflowHistory(e.ctx(), &workflow.Instance{InstanceID: "victim"})
	require.NoError(t, err)
	for _, ev := range h.Events {
		assert.NotContains(t, []string{"CancelRequested", "TerminateRequested", "SignalReceived"}, ev.Kind.String())
	}
	rec, err := e.b.GetInstance(e.ctx(), "victim")
	require.NoError(t, err)
	assert.Equal(t, streams.StatusRunning, rec.Status)
}

func TestSecurityHeadersAndAssets(t *testing.T) {
	e := newEnv(t)
	res := e.get("/")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))

	v := e.s.views.assetVersion
	for path, ctype := range map[string]string{"/static/app.css": "text/css", "/static/app.js": "text/javascript", "/static/favicon.svg": "image/svg+xml"} {
		assert.Contains(t, res.Body, path+"?v="+v)
		a := e.get(path + "?v=" + v)
		assert.Equal(t, http.StatusOK, a.Code, path)
		assert.Contains(t, a.Header.Get("Content-Type"), ctype, path)
		assert.Contains(t, a.Header.Get("Cache-Control"), "immutable", path)
	}
	assert.Equal(t, http.StatusNotFound, e.get("/static/").Code)
	assert.Equal(t, http.StatusNotFound, e.get("/static/nope.js").Code)
}

func TestMountedUnderAPrefix(t *testing.T) {
	e := newEnv(t)
	ids := []string{"a b/c?d#e%f", "..", "plain"}
	for _, id := range ids {
		e.start(id, Collect)
		e.waitEvents(id, "WorkflowStarted", 1)
	}
	for _, mount := range []string{"/ops/wf", "/ops/wf/"} {
		t.Run(mount, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/ops/wf/", http.StripPrefix(mount, e.h))
			srv := httptest.NewServer(mux)
			defer srv.Close()
			hc := srv.Client()
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			get := func(path string) response {
				t.Helper()
				res, err := hc.Get(srv.URL + path)
				require.NoError(t, err)
				defer res.Body.Close()
				var b strings.Builder
				_, err = fmt.Fprint(&b, mustRead(t, res))
				require.NoError(t, err)
				return response{Code: res.StatusCode, Header: res.Header, Body: b.String()}
			}

			list := get("/ops/wf/")
			require.Equal(t, http.StatusOK, list.Code)
			assert.Contains(t, list.Body, `href="/ops/wf/static/app.css?v=`)
			assert.Contains(t, list.Body, `<a class="brand" href="/ops/wf/">`)
			assert.Contains(t, list.Body, `action="/ops/wf/"`)
			assert.Contains(t, list.Body, `href="/ops/wf/?status=running"`)
			assert.Equal(t, "/ops/wf/events?v=", bodyAttr(list.Body, "data-live-events")[:len("/ops/wf/events?v=")])
			assert.Equal(t, "/ops/wf/fragments/instances", bodyAttr(list.Body, "data-live-fragment"))
			assert.Equal(t, http.StatusOK, get("/ops/wf/static/app.js").Code)

			// Each instance's link works, whatever its ID.
			for _, id := range ids {
				link := "/ops/wf/instances/" + pathSegment(id)
				assert.Contains(t, text(list.Body), `href="`+link+`" data-testid="instance-link"`)
				page := get(link)
				require.Equal(t, http.StatusOK, page.Code, id)
				assert.Contains(t, text(page.Body), `data-testid="instance-id">`+id+`<`)
				assert.Equal(t, link+"/fragment", bodyAttr(page.Body, "data-live-fragment"))
				assert.Contains(t, page.Body, `action="`+link+`/cancel"`)
				assert.Equal(t, http.StatusOK, get(link+"/fragment").Code)
			}

			// An action redirects within the prefix, and its error page
			// links home within it.
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/ops/wf/instances/plain/signal", strings.NewReader(url.Values{"confirm": {"yes"}, "name": {"approve"}, "value": {`{"By":"prefixed"}`}}.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", srv.URL)
			res, err := hc.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusSeeOther, res.StatusCode)
			assert.Equal(t, "/ops/wf/instances/plain", res.Header.Get("Location"))
			cookie := res.Header.Get("Set-Cookie")
			assert.Contains(t, cookie, "Path=/ops/wf/")

			missing := get("/ops/wf/instances/nobody")
			assert.Equal(t, http.StatusNotFound, missing.Code)
			assert.Contains(t, missing.Body, `href="/ops/wf/">Back to the instances`)
		})
	}
	// The mount point without its slash leads to the list.
	h := http.StripPrefix("/ops/wf", e.h)
	res := serve(h, httptest.NewRequest(http.MethodGet, "/ops/wf?status=running", nil))
	assert.Equal(t, http.StatusMovedPermanently, res.Code)
	assert.Equal(t, "/ops/wf/?status=running", res.Header.Get("Location"))
}

func TestHelpers(t *testing.T) {
	t.Run("durations", func(t *testing.T) {
		for d, want := range map[string]string{
			"850us": "850µs", "12ms": "12ms", "1.2034s": "1.203s", "1.2s": "1.2s", "10s": "10s",
			"2m5s": "2m 5s", "30m": "30m", "3h2m": "3h 2m", "50h": "2d 2h", "-1s": "-1s",
		} {
			assert.Equal(t, want, fmtDuration(mustDuration(t, d)), d)
		}
	})
	t.Run("offsets", func(t *testing.T) {
		for d, want := range map[string]string{
			"0s": "+0.000s", "1.2034s": "+1.203s", "2m5.12s": "+2m05.120s", "3h2m10s": "+3h02m10s",
		} {
			assert.Equal(t, want, fmtOffset(mustDuration(t, d)), d)
		}
	})
	t.Run("relative times", func(t *testing.T) {
		now := mustTime(t, "2026-01-02T15:00:00Z")
		assert.Equal(t, "just now", relTime(now.Add(-500*1e6), now))
		assert.Equal(t, "12s ago", relTime(now.Add(-12*1e9), now))
		assert.Equal(t, "in 3m 5s", relTime(now.Add(185*1e9), now))
		assert.Equal(t, "", relTime(mustTime(t, "0001-01-01T00:00:00Z"), now))
		assert.Equal(t, "14:59:48", clock(now.Add(-12*1e9), now))
		assert.Equal(t, "Jan 1 15:00", clock(now.Add(-24*3600*1e9), now))
	})
	t.Run("path segments", func(t *testing.T) {
		for id, want := range map[string]string{
			"plain": "plain", "a/b": "a%2Fb", "a b": "a%20b", "..": "%2E%2E", ".": "%2E", "a?b#c": "a%3Fb%23c", "%": "%25",
		} {
			assert.Equal(t, want, pathSegment(id), id)
		}
	})
	t.Run("JSON values", func(t *testing.T) {
		for in, want := range map[string]any{
			`42`:                           int64(42),
			`-7`:                           int64(-7),
			`1.5`:                          1.5,
			`1e3`:                          int64(1000),
			`18446744073709551615`:         uint64(18446744073709551615),
			`"x"`:                          "x",
			`null`:                         nil,
			`{"By": "ann", "N": [1, 2.5]}`: map[string]any{"By": "ann", "N": []any{int64(1), 2.5}},
		} {
			got, err := parseJSONValue(in)
			require.NoError(t, err, in)
			assert.Equal(t, want, got, in)
		}
		for _, in := range []string{`{`, `{"a":}`, `1 2`, `tru`, `1e999`} {
			_, err := parseJSONValue(in)
			assert.Error(t, err, in)
		}
	})
	t.Run("inline JSON", func(t *testing.T) {
		assert.Equal(t, `{"a": 1, "b": ["x", true, null]}`, displayJSON(map[string]any{"b": []any{"x", true, nil}, "a": int64(1)}))
		long := displayJSON([]any{strings.Repeat("x", 100)})
		assert.Contains(t, long, "\n", "long values are indented")
		assert.Equal(t, `"<b>"`, displayJSON("<b>"), "the template escapes, not the encoder")
	})
	t.Run("base path", func(t *testing.T) {
		for _, tt := range []struct{ uri, path, want string }{
			{"/", "/", ""},
			{"/ops/wf/", "/", "/ops/wf"},
			{"/ops/wf/instances/a%2Fb?x=1", "/instances/a/b", "/ops/wf"},
			{"/other", "/instances/x", ""},
		} {
			r := httptest.NewRequest(http.MethodGet, tt.uri, nil)
			r.URL.Path = tt.path
			r.URL.RawPath = ""
			if strings.Contains(tt.uri, "%2F") {
				r.URL.RawPath = "/instances/a%2Fb"
			}
			assert.Equal(t, tt.want, basePath(r), tt.uri)
		}
	})
	t.Run("sorted names", func(t *testing.T) {
		assert.Equal(t, []string{"alpha", "Beta", "gamma"}, sortedUnique([]string{"gamma", "Beta", "", "alpha", "gamma"}))
	})
}
