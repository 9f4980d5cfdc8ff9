package diag

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/logkey"
)

// Batch operations from the list: a link opens a confirmation page (GET
// /batch) that counts the running instances the list's filters select (a
// dry run) and holds a form; its POST (/batches, same-origin only, like
// every action) starts the batch in the background and shows its progress
// page (/batches/{id}), which follows the batch live. The batch runs on in
// this process if the browser goes away. The batch ID is made when the
// confirmation page is, so sending the form again acts on each instance
// once (client.BatchOptions.BatchID).

// maxUIBatches bounds how many batches the UI remembers; the oldest
// finished ones are forgotten first.
const maxUIBatches = 100

// batchLinks are the list's links to the batch confirmation pages.
type batchLinks struct {
	Cancel, Terminate, Signal string
}

// batchLinksOf links the batch actions of the list's filters.
func batchLinksOf(b string, lq listQuery) *batchLinks {
	link := func(action string) string {
		v := batchFilterValues(lq)
		v.Set("action", action)
		return b + "/batch?" + v.Encode()
	}
	return &batchLinks{Cancel: link("cancel"), Terminate: link("terminate"), Signal: link("signal")}
}

// batchFilterValues are the parameters of the filters a batch keeps: all
// of the list's but the status (a batch acts on running instances) and
// the page.
func batchFilterValues(lq listQuery) url.Values {
	v := url.Values{}
	if lq.Workflow != "" {
		v.Set("workflow", lq.Workflow)
	}
	if lq.Q != "" {
		v.Set("q", lq.Q)
	}
	for _, p := range lq.searchPairs() {
		v.Add("search", p)
	}
	return v
}

// batchFilterOf is the client filter of the list's filters.
func batchFilterOf(lq listQuery) client.BatchFilter {
	return client.BatchFilter{WorkflowName: lq.Workflow, IDContains: lq.Q, SearchAttributes: lq.Search}
}

// uiBatch is a batch started from the UI.
type uiBatch struct {
	ID      string
	Action  string
	Query   listQuery
	Reason  string // terminate
	Signal  string // signal: its name
	Value   string // signal: its value as JSON, as typed ("" sends null)
	Started time.Time

	mu       sync.Mutex
	progress client.BatchProgress
	running  bool
	finished time.Time
	err      error
	watchers map[chan struct{}]struct{}
}

// uiBatchState is a batch's progress at one moment.
type uiBatchState struct {
	client.BatchProgress
	Running  bool
	Finished time.Time
	Err      error
}

func (ub *uiBatch) state() uiBatchState {
	ub.mu.Lock()
	defer ub.mu.Unlock()
	return uiBatchState{BatchProgress: ub.progress, Running: ub.running, Finished: ub.finished, Err: ub.err}
}

// update changes the batch's state and tells its watchers.
func (ub *uiBatch) update(f func()) {
	ub.mu.Lock()
	defer ub.mu.Unlock()
	f()
	for ch := range ub.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// batchWatch is a changeWatch of one batch.
type batchWatch struct {
	ub *uiBatch
	ch chan struct{}
}

func (ub *uiBatch) watch() *batchWatch {
	w := &batchWatch{ub: ub, ch: make(chan struct{}, 1)}
	ub.mu.Lock()
	if ub.watchers == nil {
		ub.watchers = map[chan struct{}]struct{}{}
	}
	ub.watchers[w.ch] = struct{}{}
	ub.mu.Unlock()
	return w
}

func (w *batchWatch) C() <-chan struct{} { return w.ch }

func (w *batchWatch) Stop() error {
	w.ub.mu.Lock()
	delete(w.ub.watchers, w.ch)
	w.ub.mu.Unlock()
	return nil
}

// uiBatches remembers the batches started from this UI.
type uiBatches struct {
	mu   sync.Mutex
	byID map[string]*uiBatch
}

func (bs *uiBatches) get(id string) *uiBatch {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.byID[id]
}

// claim records ub unless a batch of its ID is running or finished without
// failures: then it returns that one, and ub is not to be run.
func (bs *uiBatches) claim(ub *uiBatch) (*uiBatch, bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.byID == nil {
		bs.byID = map[string]*uiBatch{}
	}
	if old := bs.byID[ub.ID]; old != nil {
		if st := old.state(); st.Running || (st.Err == nil && st.Failed == 0) {
			return old, false
		}
	}
	if len(bs.byID) >= maxUIBatches {
		var oldest *uiBatch
		for _, b := range bs.byID {
			if st := b.state(); !st.Running && (oldest == nil || b.Started.Before(oldest.Started)) {
				oldest = b
			}
		}
		if oldest == nil {
			return nil, false
		}
		delete(bs.byID, oldest.ID)
	}
	ub.running = true
	bs.byID[ub.ID] = ub
	return ub, true
}

// batchConfirmView is the data of the batch confirmation page.
type batchConfirmView struct {
	Action   string
	Query    listQuery
	Pairs    []string // the search filter, KEY=VALUE
	Hidden   url.Values
	Count    int
	BatchID  string
	ListURL  string
	Reason   string
	Signal   string
	Value    string
	Problem  string
	Filtered bool
}

// newBatchID names a batch started from the UI.
func newBatchID() string {
	var r [4]byte
	rand.Read(r[:])
	return "ui-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])
}

// batchAction reads and checks the action parameter.
func batchAction(a string) (string, error) {
	switch a {
	case "cancel", "terminate", "signal":
		return a, nil
	}
	return "", fmt.Errorf("%q is not a batch action; use cancel, terminate or signal", truncate(a, 40))
}

// batchConfirmPage counts what a batch would act on and asks first.
func (s *server) batchConfirmPage(w http.ResponseWriter, r *http.Request) {
	action, err := batchAction(r.URL.Query().Get("action"))
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Unknown action", err.Error())
		return
	}
	lq, err := s.parseListQuery(r)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Cannot select instances", err.Error())
		return
	}
	s.renderBatchConfirm(w, r, http.StatusOK, &batchConfirmView{Action: action, Query: lq, BatchID: newBatchID()})
}

// renderBatchConfirm counts the instances and shows the confirmation page.
func (s *server) renderBatchConfirm(w http.ResponseWriter, r *http.Request, status int, v *batchConfirmView) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	n, err := s.c.BatchCount(ctx, batchFilterOf(v.Query))
	if err != nil {
		s.errorPage(w, r, statusOf(err), "Cannot count the instances", err.Error())
		return
	}
	b := base(r)
	v.Count = n
	v.Pairs = v.Query.searchPairs()
	v.Hidden = batchFilterValues(v.Query)
	v.Filtered = len(v.Hidden) > 0
	v.ListURL = v.Query.url(b, "/", s.cfg.pageSize)
	title := map[string]string{"cancel": "Cancel all", "terminate": "Terminate all", "signal": "Signal all"}[v.Action]
	s.render(w, r, status, "batchconfirm", title, v, nil, nil)
}

// startBatch starts the batch the confirmation form describes and shows
// its progress page.
func (s *server) startBatch(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Unreadable form", "The form could not be read: "+err.Error())
		return
	}
	f := r.PostForm
	if f.Get("confirm") != "yes" {
		s.errorPage(w, r, http.StatusBadRequest, "Not confirmed",
			"Batch actions must be confirmed: use the buttons of the instance list, which count and ask first.")
		return
	}
	action, err := batchAction(f.Get("action"))
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Unknown action", err.Error())
		return
	}
	// The filters come as the list's parameters, in the form.
	fr := r.Clone(r.Context())
	fr.URL.RawQuery = batchFormFilter(f).Encode()
	lq, err := s.parseListQuery(fr)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Cannot select instances", err.Error())
		return
	}
	ub := &uiBatch{ID: f.Get("batch_id"), Action: action, Query: lq, Started: time.Now()}
	if err := checkUIBatchID(ub.ID); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Invalid batch ID", err.Error())
		return
	}
	var arg any
	switch action {
	case "terminate":
		ub.Reason = strings.TrimSpace(f.Get("reason"))
		if ub.Reason == "" {
			ub.Reason = defaultTerminateReason + " (batch " + ub.ID + ")"
		}
	case "signal":
		ub.Signal = strings.TrimSpace(f.Get("name"))
		raw := f.Get("value")
		ub.Value = strings.TrimSpace(raw)
		problem := ""
		if ub.Signal == "" {
			problem = "Nothing sent: give the signal a name."
		} else if strings.TrimSpace(raw) != "" {
			v, err := parseJSONValue(raw)
			if err != nil {
				problem = "Nothing sent: the value is not valid JSON: " + err.Error()
			}
			arg = converter.JSONInput{Value: v}
		}
		if problem != "" {
			s.renderBatchConfirm(w, r, http.StatusBadRequest, &batchConfirmView{Action: action, Query: lq, BatchID: ub.ID,
				Signal: ub.Signal, Value: raw, Problem: problem})
			return
		}
	}
	got, fresh := s.batches.claim(ub)
	if got == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Too many batches",
			fmt.Sprintf("%d batches are running from this UI; wait for one to finish.", maxUIBatches))
		return
	}
	if fresh {
		s.log.Info("batch "+action+" from the web UI", "batch_id", ub.ID)
		go s.runBatch(ub, arg)
	}
	http.Redirect(w, r, batchURL(base(r), got.ID), http.StatusSeeOther)
}

// batchFormFilter picks the list filters out of a batch form.
func batchFormFilter(f url.Values) url.Values {
	v := url.Values{}
	for _, k := range []string{"workflow", "q", "search"} {
		if vs, ok := f[k]; ok {
			v[k] = vs
		}
	}
	return v
}

// checkUIBatchID checks a batch ID as the client does, and that it fits
// in a URL path segment.
func checkUIBatchID(id string) error {
	if id == "" {
		return errors.New("the form has no batch ID; start again from the instance list")
	}
	if len(id) > client.MaxBatchIDLength {
		return fmt.Errorf("batch ID of %d bytes is longer than %d", len(id), client.MaxBatchIDLength)
	}
	return nil
}

// runBatch runs a batch to its end, whatever becomes of the request that
// started it.
func (s *server) runBatch(ub *uiBatch, arg any) {
	ctx := context.Background()
	opts := client.BatchOptions{BatchID: ub.ID, Progress: func(p client.BatchProgress) {
		ub.update(func() { ub.progress = p })
	}}
	filter := batchFilterOf(ub.Query)
	var (
		res *client.BatchResult
		err error
	)
	switch ub.Action {
	case "cancel":
		res, err = s.c.BatchCancel(ctx, filter, opts)
	case "terminate":
		res, err = s.c.BatchTerminate(ctx, filter, opts, ub.Reason)
	case "signal":
		res, err = s.c.BatchSignal(ctx, filter, opts, ub.Signal, arg)
	}
	if err != nil {
		s.log.Warn("batch "+ub.Action+" from the web UI failed", "batch_id", ub.ID, logkey.Err, err)
	}
	ub.update(func() {
		if res != nil {
			ub.progress = res.BatchProgress
		}
		ub.running, ub.finished, ub.err = false, time.Now(), err
	})
}

// batchURL is the progress page of a batch.
func batchURL(base, id string) string { return base + "/batches/" + pathSegment(id) }

// batchView is the data of a batch's progress page.
type batchView struct {
	ID      string
	Action  string
	Pairs   []string
	Query   listQuery
	Reason  string
	Signal  string
	Started time.Time
	State   uiBatchState
	// Handled counts the instances done, skipped or failed; Percent is
	// that share of the total.
	Handled, Percent int
	ListURL          string
	// Command is the wfctl command that runs the batch again (to finish
	// it if this process stops).
	Command string
}

func (s *server) batchView(r *http.Request, ub *uiBatch) *batchView {
	st := ub.state()
	v := &batchView{ID: ub.ID, Action: ub.Action, Pairs: ub.Query.searchPairs(), Query: ub.Query, Reason: ub.Reason, Signal: ub.Signal,
		Started: ub.Started, State: st, Handled: st.Done + st.Skipped + st.Failed,
		ListURL: ub.Query.url(base(r), "/", s.cfg.pageSize), Command: wfctlBatchCommand(ub)}
	if st.Total > 0 {
		v.Percent = v.Handled * 100 / st.Total
	} else if !st.Running {
		v.Percent = 100
	}
	return v
}

// wfctlBatchCommand is the wfctl command of the same batch.
func wfctlBatchCommand(ub *uiBatch) string {
	args := []string{"wfctl", "batch", ub.Action}
	if ub.Action == "signal" {
		args = append(args, shellQuote(ub.Signal))
	}
	if ub.Query.Workflow != "" {
		args = append(args, "--workflow", shellQuote(ub.Query.Workflow))
	}
	for _, k := range slices.Sorted(maps.Keys(ub.Query.Search)) {
		args = append(args, "--search", shellQuote(k+"="+ub.Query.Search[k]))
	}
	if ub.Query.Q != "" {
		args = append(args, "--id-contains", shellQuote(ub.Query.Q))
	}
	if ub.Action == "terminate" {
		args = append(args, "--reason", shellQuote(ub.Reason))
	}
	if ub.Action == "signal" && ub.Value != "" {
		args = append(args, "--input", shellQuote(ub.Value))
	}
	return strings.Join(append(args, "--batch-id", shellQuote(ub.ID), "--yes"), " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.=:/@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// batchFor finds the batch of the request's {id}; it writes a 404 and
// returns nil for one this UI does not know.
func (s *server) batchFor(w http.ResponseWriter, r *http.Request, page bool) *uiBatch {
	id := r.PathValue("id")
	if ub := s.batches.get(id); ub != nil {
		return ub
	}
	msg := fmt.Sprintf("This UI knows no batch %q: it forgets batches when it restarts, and after %d more. "+
		"An interrupted batch is finished by running it again with the same batch ID (wfctl batch ... --batch-id).", truncate(id, 140), maxUIBatches)
	switch {
	case page:
		s.errorPage(w, r, http.StatusNotFound, "Batch not found", msg)
	default:
		writeJSONError(w, http.StatusNotFound, msg)
	}
	return nil
}

// batchPage shows a batch's progress.
func (s *server) batchPage(w http.ResponseWriter, r *http.Request) {
	ub := s.batchFor(w, r, true)
	if ub == nil {
		return
	}
	u := batchURL(base(r), ub.ID)
	var lv *live
	if st := ub.state(); st.Running {
		lv = &live{Events: u + "/events?v=" + batchToken(st), Fragment: u + "/fragment"}
	}
	s.render(w, r, http.StatusOK, "batch", "Batch "+ub.ID, s.batchView(r, ub), lv, nil)
}

// batchFragment serves the live part of a batch's page.
func (s *server) batchFragment(w http.ResponseWriter, r *http.Request) {
	ub := s.batchFor(w, r, true)
	if ub == nil {
		return
	}
	s.renderFragment(w, r, "batch", "batch-live", s.batchView(r, ub))
}

// batchToken identifies a batch's progress for its event stream.
func batchToken(st uiBatchState) string {
	return fmt.Sprintf("%d-%d-%d-%d-%t", st.Total, st.Done, st.Skipped, st.Failed, st.Running)
}

// batchEvents streams the progress of a batch.
func (s *server) batchEvents(w http.ResponseWriter, r *http.Request) {
	ub := s.batchFor(w, r, false)
	if ub == nil {
		return
	}
	watch := ub.watch()
	defer watch.Stop()
	check := func(context.Context) (string, error) { return batchToken(ub.state()), nil }
	first, _ := check(r.Context())
	es, err := startEventStream(w, s.cfg.writeTimeout)
	if err != nil {
		return
	}
	s.follow(r.Context(), es, watch, s.cfg.recheck, s.cfg.instanceGap, r.URL.Query().Get("v"), first, check)
}

// apiBatchResponse is the JSON of a batch's progress.
type apiBatchResponse struct {
	BatchID  string     `json:"batch_id"`
	Action   string     `json:"action"`
	Total    int        `json:"total"`
	Done     int        `json:"done"`
	Skipped  int        `json:"skipped"`
	Failed   int        `json:"failed"`
	Running  bool       `json:"running"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	Error    string     `json:"error,omitempty"`
}

// apiBatch serves a batch's progress as JSON, for polling.
func (s *server) apiBatch(w http.ResponseWriter, r *http.Request) {
	ub := s.batchFor(w, r, false)
	if ub == nil {
		return
	}
	st := ub.state()
	res := apiBatchResponse{BatchID: ub.ID, Action: ub.Action, Total: st.Total, Done: st.Done, Skipped: st.Skipped, Failed: st.Failed,
		Running: st.Running, Started: ub.Started}
	if !st.Finished.IsZero() {
		res.Finished = &st.Finished
	}
	if st.Err != nil {
		res.Error = st.Err.Error()
	}
	writeJSON(w, http.StatusOK, res)
}

// routeBatches adds the batch routes.
func (s *server) routeBatches(mux *http.ServeMux) {
	mux.HandleFunc("GET /batch", s.batchConfirmPage)
	mux.HandleFunc("POST /batches", s.startBatch)
	mux.HandleFunc("GET /batches/{id}", s.batchPage)
	mux.HandleFunc("GET /batches/{id}/fragment", s.batchFragment)
	mux.HandleFunc("GET /batches/{id}/events", s.batchEvents)
	mux.HandleFunc("GET /api/batches/{id}", s.apiBatch)
}
