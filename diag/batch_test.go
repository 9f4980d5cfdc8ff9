package diag

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// seedSearch starts Collect instances with search attributes: s-acme-eu-1,
// s-acme-eu-2, s-acme-us-1, s-globex-eu-1 (running), and s-acme-eu-done
// (completed).
func seedSearch(e *env) {
	for _, s := range []struct{ id, customer, region string }{
		{"s-acme-eu-1", "acme", "eu"}, {"s-acme-eu-2", "acme", "eu"}, {"s-acme-us-1", "acme", "us"},
		{"s-globex-eu-1", "globex", "eu"}, {"s-acme-eu-done", "acme", "eu"},
	} {
		e.startWith(client.WorkflowInstanceOptions{InstanceID: s.id,
			SearchAttributes: map[string]string{"customer": s.customer, "region": s.region}}, Collect)
	}
	require.NoError(e.t, e.c.SignalWorkflow(e.ctx(), "s-acme-eu-done", "approve", Approval{By: "stop"}))
	e.waitStatus("s-acme-eu-done", streams.StatusCompleted)
	for _, id := range []string{"s-acme-eu-1", "s-acme-eu-2", "s-acme-us-1", "s-globex-eu-1"} {
		e.waitEvents(id, "WorkflowStarted", 1)
	}
}

func rowIDSet(body string) []string {
	var out []string
	for _, r := range rows(body) {
		out = append(out, r.ID)
	}
	return out
}

var hrefRE = regexp.MustCompile(`href="([^"]*)" data-testid="([^"]*)"`)

// link finds the href of the element with the test ID.
func link(t *testing.T, body, testid string) string {
	t.Helper()
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		if m[2] == testid {
			return html.UnescapeString(m[1])
		}
	}
	t.Fatalf("no link %q in the page", testid)
	return ""
}

func TestListSearchFilter(t *testing.T) {
	e := newEnv(t)
	seedSearch(e)

	tests := []struct {
		name   string
		target string
		want   []string
	}{
		{"one pair", "/?search=customer%3Dacme", []string{"s-acme-eu-1", "s-acme-eu-2", "s-acme-us-1", "s-acme-eu-done"}},
		{"two pairs", "/?search=customer%3Dacme&search=region%3Deu", []string{"s-acme-eu-1", "s-acme-eu-2", "s-acme-eu-done"}},
		{"with status", "/?status=running&search=region%3Deu", []string{"s-acme-eu-1", "s-acme-eu-2", "s-globex-eu-1"}},
		{"with workflow", "/?workflow=Collect&search=customer%3Dglobex", []string{"s-globex-eu-1"}},
		{"other workflow", "/?workflow=Order&search=customer%3Dglobex", nil},
		{"blank field ignored", "/?search=&search=customer%3Dglobex", []string{"s-globex-eu-1"}},
		{"with ID", "/?q=EU-1&search=customer%3Dacme", []string{"s-acme-eu-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.get(tt.target)
			require.Equal(t, http.StatusOK, res.Code, res.Body)
			assert.ElementsMatch(t, tt.want, rowIDSet(res.Body))
			// The fragment of live updates shows the same.
			frag := e.get(strings.Replace(tt.target, "/?", "/fragments/instances?", 1))
			assert.ElementsMatch(t, tt.want, rowIDSet(frag.Body))
		})
	}

	// The form shows each pair, and the links keep the filter: the status
	// tabs, the live updates and the batch actions.
	res := e.get("/?search=customer%3Dacme&search=region%3Deu")
	assert.Contains(t, res.Body, `value="customer=acme"`)
	assert.Contains(t, res.Body, `value="region=eu"`)
	assert.True(t, has(res.Body, "filter-clear"))
	// The index counts per status and workflow, not per search attribute:
	// with a search filter the tabs show no counts rather than wrong ones.
	assert.Equal(t, "", tabCount(res.Body, ""))
	assert.Equal(t, "", tabCount(res.Body, "running"))
	assert.NotContains(t, text(res.Body), "instances match")
	assert.Contains(t, text(res.Body), `/?search=customer%3Dacme&search=region%3Deu&status=running`)
	assert.Contains(t, bodyAttr(res.Body, "data-live-events"), "/events?search=customer%3Dacme&search=region%3Deu&v=")
	assert.Contains(t, bodyAttr(res.Body, "data-live-fragment"), "/fragments/instances?search=customer%3Dacme&search=region%3Deu")
	running := e.get("/?search=customer%3Dacme&search=region%3Deu&status=running")
	assert.ElementsMatch(t, []string{"s-acme-eu-1", "s-acme-eu-2"}, rowIDSet(running.Body))

	// The JSON API takes the same parameters.
	api := e.get("/api/instances?search=customer%3Dacme&search=region%3Dus")
	require.Equal(t, http.StatusOK, api.Code, api.Body)
	var page client.InstancePage
	require.NoError(t, json.Unmarshal([]byte(api.Body), &page))
	require.Len(t, page.Instances, 1)
	assert.Equal(t, "s-acme-us-1", page.Instances[0].InstanceID)

	for _, bad := range []string{"/?search=customer", "/?search=%3Dacme", "/?search=bad%20key%3Dx", "/events?search=customer"} {
		res := e.get(bad)
		assert.Equal(t, http.StatusBadRequest, res.Code, bad)
	}
}

// postBatch sends the confirmation form of the page at confirmURL as it
// is, with extra fields set.
func postBatch(t *testing.T, h http.Handler, confirmPage string, extra url.Values) response {
	t.Helper()
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`).FindAllStringSubmatch(confirmPage, -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	for k, v := range extra {
		form[k] = v
	}
	r := httptest.NewRequest(http.MethodPost, "/batches", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return serve(h, r)
}

// waitBatch polls the batch's JSON until it has finished.
func waitBatch(t *testing.T, h http.Handler, location string) apiBatchResponse {
	t.Helper()
	var st apiBatchResponse
	waitFor(t, 30*time.Second, "the batch to finish", func() bool {
		res := serve(h, httptest.NewRequest(http.MethodGet, strings.Replace(location, "/batches/", "/api/batches/", 1), nil))
		require.Equal(t, http.StatusOK, res.Code, res.Body)
		require.NoError(t, json.Unmarshal([]byte(res.Body), &st))
		return !st.Running
	})
	return st
}

func TestBatchFromTheList(t *testing.T) {
	e := newEnv(t)
	seedSearch(e)

	// The list with a filter links the batch actions with that filter.
	list := e.get("/?status=running&search=region%3Deu&search=customer%3Dacme")
	require.True(t, has(list.Body, "batch-actions"))
	confirmURL := link(t, list.Body, "batch-signal")
	assert.NotContains(t, confirmURL, "status=", "a batch acts on running instances, whatever the tab")

	// The confirmation page counts first (the completed one is not
	// counted) and acts on nothing.
	confirm := e.get(confirmURL)
	require.Equal(t, http.StatusOK, confirm.Code, confirm.Body)
	assert.Contains(t, confirm.Body, `data-testid="batch-count" data-count="2"`)
	assert.Contains(t, text(confirm.Body), "customer=acme")

	// A form without the confirmation, a GET and a POST from another site
	// do nothing.
	assert.Equal(t, http.StatusBadRequest, e.post("/batches", url.Values{"action": {"cancel"}, "batch_id": {"x"}}).Code)
	assert.NotEqual(t, http.StatusSeeOther, e.get("/batches?confirm=yes&action=cancel&batch_id=x").Code)
	cross := httptest.NewRequest(http.MethodPost, "http://jetflow.internal/batches",
		strings.NewReader(url.Values{"confirm": {"yes"}, "action": {"cancel"}, "batch_id": {"x"}}.Encode()))
	cross.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cross.Header.Set("Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, serve(e.h, cross).Code)

	// A value that is not JSON sends nothing and shows the form again.
	bad := postBatch(t, e.h, confirm.Body, url.Values{"name": {"approve"}, "value": {"{nope"}})
	assert.Equal(t, http.StatusBadRequest, bad.Code)
	assert.Contains(t, text(bad.Body), "not valid JSON")
	for _, id := range []string{"s-acme-eu-1", "s-acme-eu-2", "s-acme-us-1", "s-globex-eu-1"} {
		h, err := e.c.GetWorkflowHistory(e.ctx(), &workflow.Instance{InstanceID: id})
		require.NoError(t, err)
		for _, ev := range h.Events {
			require.NotEqual(t, "SignalReceived", ev.Kind.String(), id)
		}
	}

	// Confirmed: the batch runs, and its page shows its progress.
	res := postBatch(t, e.h, confirm.Body, url.Values{"name": {"approve"}, "value": {`{"By": "batch"}`}})
	require.Equal(t, http.StatusSeeOther, res.Code, res.Body)
	location := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(location, "/batches/ui-"), location)
	st := waitBatch(t, e.h, location)
	assert.Equal(t, apiBatchResponse{BatchID: st.BatchID, Action: "signal", Total: 2, Done: 2, Started: st.Started, Finished: st.Finished}, st)
	page := e.get(location)
	require.Equal(t, http.StatusOK, page.Code, page.Body)
	assert.Contains(t, page.Body, `data-running="false" data-total="2" data-done="2" data-skipped="0" data-failed="0"`)
	assert.Contains(t, text(page.Body), "wfctl batch signal approve --search customer=acme --search region=eu --input '{\"By\": \"batch\"}' --batch-id "+st.BatchID+" --yes")
	e.waitEvents("s-acme-eu-1", "SignalReceived", 1)
	e.waitEvents("s-acme-eu-2", "SignalReceived", 1)

	// Sending the form again, here or to a UI that does not know the batch
	// (restarted), signals each instance once.
	again := postBatch(t, e.h, confirm.Body, url.Values{"name": {"approve"}, "value": {`{"By": "batch"}`}})
	require.Equal(t, http.StatusSeeOther, again.Code)
	assert.Equal(t, location, again.Header.Get("Location"))
	other := newServer(e.b, testConfig()).handler()
	again = postBatch(t, other, confirm.Body, url.Values{"name": {"approve"}, "value": {`{"By": "batch"}`}})
	require.Equal(t, http.StatusSeeOther, again.Code)
	st = waitBatch(t, other, again.Header.Get("Location"))
	assert.Equal(t, 2, st.Done)
	for _, id := range []string{"s-acme-eu-1", "s-acme-eu-2", "s-acme-us-1", "s-globex-eu-1"} {
		want := 0
		if strings.HasPrefix(id, "s-acme-eu") {
			want = 1
		}
		h, err := e.c.GetWorkflowHistory(e.ctx(), &workflow.Instance{InstanceID: id})
		require.NoError(t, err)
		got := 0
		for _, ev := range h.Events {
			if ev.Kind.String() == "SignalReceived" {
				got++
			}
		}
		assert.Equal(t, want, got, "signals of %s", id)
	}

	// Cancel all with a workflow filter and a pair: only those end.
	confirm = e.get("/batch?action=cancel&workflow=Collect&search=region%3Deu")
	assert.Contains(t, confirm.Body, `data-testid="batch-count" data-count="3"`)
	res = postBatch(t, e.h, confirm.Body, nil)
	require.Equal(t, http.StatusSeeOther, res.Code, res.Body)
	st = waitBatch(t, e.h, res.Header.Get("Location"))
	assert.Equal(t, 3, st.Done)
	for _, id := range []string{"s-acme-eu-1", "s-acme-eu-2", "s-globex-eu-1"} {
		e.waitStatus(id, streams.StatusCanceled)
	}
	rec, err := e.b.GetInstance(e.ctx(), "s-acme-us-1")
	require.NoError(t, err)
	assert.Equal(t, streams.StatusRunning, rec.Status)

	// Unknown batches and actions.
	assert.Equal(t, http.StatusNotFound, e.get("/batches/nope").Code)
	assert.Equal(t, http.StatusNotFound, e.get("/api/batches/nope").Code)
	assert.Equal(t, http.StatusBadRequest, e.get("/batch?action=pause").Code)
	assert.Equal(t, http.StatusBadRequest, e.get("/batch?action=cancel&search=x").Code)
}

// The progress page of a running batch follows it live.
func TestBatchProgressIsLive(t *testing.T) {
	e := newEnv(t)
	ub := &uiBatch{ID: "live-1", Action: "cancel", Started: time.Now()}
	_, fresh := e.s.batches.claim(ub)
	require.True(t, fresh)
	srv, _ := liveServer(t, e)
	page := e.get("/batches/live-1")
	require.Equal(t, http.StatusOK, page.Code, page.Body)
	events := bodyAttr(page.Body, "data-live-events")
	require.Contains(t, events, "/batches/live-1/events?v=")
	s := openStream(t, srv.URL+events)
	s.quiet(3*e.s.cfg.recheck, "nothing changed")
	ub.update(func() { ub.progress = client.BatchProgress{Total: 10, Done: 4} })
	s.expect("change", 20*time.Second, "the batch moved on")
	frag := e.get("/batches/live-1/fragment")
	assert.Contains(t, frag.Body, `data-running="true" data-total="10" data-done="4"`)
	s.cancel()
}

// The UI's memory of batches: a batch ID that runs or ran without
// failures is not run again; one that failed is; the oldest finished batch
// makes room, and none is dropped while running.
func TestUIBatchesClaim(t *testing.T) {
	var bs uiBatches
	t0 := time.Now()
	finish := func(ub *uiBatch, err error) { ub.update(func() { ub.running, ub.err = false, err }) }

	a := &uiBatch{ID: "a", Started: t0}
	got, fresh := bs.claim(a)
	require.True(t, fresh)
	require.Same(t, a, got)
	got, fresh = bs.claim(&uiBatch{ID: "a", Started: t0})
	require.False(t, fresh, "running")
	require.Same(t, a, got)
	finish(a, nil)
	_, fresh = bs.claim(&uiBatch{ID: "a", Started: t0})
	require.False(t, fresh, "finished without failures")
	finish(a, assert.AnError)
	a2 := &uiBatch{ID: "a", Started: t0}
	got, fresh = bs.claim(a2)
	require.True(t, fresh, "failed: run again")
	require.Same(t, a2, bs.get("a"))

	for i := 1; i < maxUIBatches; i++ {
		_, fresh := bs.claim(&uiBatch{ID: "b" + strings.Repeat("x", i), Started: t0.Add(time.Duration(i) * time.Second)})
		require.True(t, fresh)
	}
	got, _ = bs.claim(&uiBatch{ID: "full", Started: t0.Add(time.Hour)})
	require.Nil(t, got, "every remembered batch is running")
	finish(bs.get("bxx"), nil)
	finish(bs.get("bxxx"), nil)
	_, fresh = bs.claim(&uiBatch{ID: "next", Started: t0.Add(time.Hour)})
	require.True(t, fresh)
	require.Nil(t, bs.get("bxx"), "the oldest finished batch is forgotten")
	require.NotNil(t, bs.get("bxxx"))
	require.NotNil(t, bs.get("a"), "a running batch is kept")
}
