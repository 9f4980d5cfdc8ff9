// Package diag is jetflow's web UI: an http.Handler that lists the workflow
// instances of a namespace, shows one instance (its status, input, result or
// error, pending work, children, earlier runs and its history as a
// timeline), follows it live as it moves on, and lets an operator cancel,
// terminate or signal it, or every running instance the list's filters
// select (a batch, with a dry-run count first and its progress after).
//
// Mount it in any service, at the root or under a prefix:
//
//	mux.Handle("/workflows/", http.StripPrefix("/workflows", diag.NewServeMux(b)))
//
// Every link, asset and form URL is computed from the request, so the UI
// works under any prefix. Pages are rendered on the server with
// html/template; one small script (embedded, like the stylesheet) adds live
// updates and confirmation dialogs. Without JavaScript the pages still work
// and actions go through a confirmation page.
//
// Live updates use server-sent events: the server listens to the core-NATS
// change notices of package streams (Backend.WatchInstance,
// Backend.WatchInstances) and re-checks every few seconds, because core NATS
// may drop a notice. The script then fetches a fragment of the page, made by
// the same templates, and swaps it in.
//
// The POST actions are guarded by http.CrossOriginProtection, so a page of
// another site cannot make a browser cancel workflows. The UI has no login of
// its own: put it behind authentication when it is reachable by others.
//
// # Routes (relative to where the handler is mounted)
//
//	GET  /                              instance list (status, workflow, q, search=KEY=VALUE (repeatable), limit, cursor, back)
//	GET  /fragments/instances           the live part of the list, same parameters
//	GET  /events                        server-sent events: the list may have changed
//	GET  /instances/{id}                one instance (?run=EXECUTION_ID for an earlier run)
//	GET  /instances/{id}/fragment       the live part of the instance page
//	GET  /instances/{id}/events         server-sent events: the instance may have changed
//	GET  /instances/{id}/confirm        confirmation page of an action (without JavaScript)
//	POST /instances/{id}/cancel         cancel the run (form: run, confirm)
//	POST /instances/{id}/terminate      terminate the run (form: run, reason, confirm)
//	POST /instances/{id}/signal         signal the instance (form: name, value (JSON), confirm)
//	GET  /batch                         batch confirmation: a dry-run count (action, workflow, q, search)
//	POST /batches                       start a batch (form: action, batch_id, confirm, the filters, reason, name, value)
//	GET  /batches/{id}                  a batch's progress (live while it runs)
//	GET  /batches/{id}/fragment         the live part of the batch page
//	GET  /batches/{id}/events           server-sent events: the batch moved on
//	GET  /api/batches/{id}              JSON: a batch's progress, for polling
//	GET  /api/instances                 JSON: a page of instances (as client.InstancePage)
//	GET  /api/instances/{id}            JSON: client.InstanceDescription
//	GET  /api/instances/{id}/history    JSON: the decoded events of a run (?run=)
//	GET  /static/...                    stylesheet, script, icon
//
// Instance IDs are path-escaped in URLs ('/' becomes %2F), so any ID works.
//
// # Test hooks
//
// Elements that tests rely on carry data-testid attributes, which are kept
// stable:
//
//	layout         namespace (the namespace in the header); live-indicator
//	               (data-state="on" while the live connection is up);
//	               flash (the message after an action, data-kind="ok" or
//	               "error"); error-page (data-status, the HTTP status)
//	list           status-tab (data-status, "" for all; data-active="true"
//	               on the current one); filter-form with workflow-filter,
//	               id-search, search-filter (one per pair, and a blank
//	               one), filter-submit and filter-clear; instance-list
//	               (the table); instance-row (data-instance-id, data-status,
//	               data-workflow); instance-link; empty; pager-older,
//	               pager-newer; batch-actions with batch-cancel,
//	               batch-terminate, batch-signal (links)
//	batch          batch-form, batch-count (data-count), batch-filter,
//	               batch-reason, batch-signal-name, batch-signal-value,
//	               batch-error, batch-confirm (the confirmation page);
//	               batch-id, batch-progress (data-running, data-total,
//	               data-done, data-skipped, data-failed), batch-command
//	instance       instance-id; status (data-status); workflow; queue; run;
//	               input; result; error (the run's failure); terminate-reason-shown;
//	               failure-type, failure-message, failure-stack (inside any
//	               failure, of the run or of an event); pending;
//	               pending-activity (data-name), pending-timer,
//	               pending-subworkflow, pending-signal; cancel-requested;
//	               parent-link, child-link (data-instance-id), run-link
//	               (data-run); history (the timeline); event (data-kind,
//	               data-event-id)
//	actions        action-cancel, action-terminate, action-signal (open the
//	               dialogs); cancel-dialog, terminate-dialog, signal-dialog;
//	               confirm-cancel, confirm-terminate, confirm-signal;
//	               terminate-reason, signal-name, signal-value, signal-error
//
// The body element carries data-live-events and data-live-fragment on pages
// that follow changes, and data-live-updates counts the updates swapped in.
package diag

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
)

// config holds the timings of the UI; tests shorten them.
type config struct {
	// pageSize is the list's default page size, maxPageSize its limit.
	pageSize, maxPageSize int
	// recheck is how often an instance's event stream re-reads the
	// instance when no change notice came (core NATS may drop one).
	recheck time.Duration
	// listRecheck is the same for the list's event stream.
	listRecheck time.Duration
	// listGap and instanceGap are the least time between two checks of
	// one event stream after change notices.
	listGap, instanceGap time.Duration
	// keepAlive is how often an idle event stream sends a comment, so
	// proxies keep the connection.
	keepAlive time.Duration
	// maxStream ends an event stream after this long; the browser
	// reconnects. It keeps server shutdowns from waiting forever.
	maxStream time.Duration
	// writeTimeout bounds each write of an event stream.
	writeTimeout time.Duration
	// requestTimeout bounds the NATS work of one request.
	requestTimeout time.Duration
}

func defaultConfig() config {
	return config{
		pageSize:       50,
		maxPageSize:    1000,
		recheck:        3 * time.Second,
		listRecheck:    10 * time.Second,
		listGap:        time.Second,
		instanceGap:    200 * time.Millisecond,
		keepAlive:      20 * time.Second,
		maxStream:      5 * time.Minute,
		writeTimeout:   30 * time.Second,
		requestTimeout: 15 * time.Second,
	}
}

// changeWatch is what the event streams wait on: a *streams.ChangeWatch.
type changeWatch interface {
	C() <-chan struct{}
	Stop() error
}

// server is the UI of one namespace.
type server struct {
	b     *streams.Backend
	c     *client.Client
	log   *slog.Logger
	cfg   config
	views *views

	watchInstance  func(id string) (changeWatch, error)
	watchInstances func() (changeWatch, error)

	// names remembers the workflow names seen, for the workflow filter.
	namesMu sync.Mutex
	names   map[string]struct{}

	// batches are the batch operations started from this UI.
	batches uiBatches
}

// NewServeMux returns the web UI of the backend's namespace as an
// http.Handler. Mount it at the root of a server or under a prefix with
// http.StripPrefix; see the package documentation for the routes. It panics
// if b is nil.
func NewServeMux(b *streams.Backend) http.Handler {
	if b == nil {
		panic("diag: nil *streams.Backend")
	}
	return newServer(b, defaultConfig()).handler()
}

func newServer(b *streams.Backend, cfg config) *server {
	s := &server{
		b:     b,
		c:     client.New(b),
		log:   b.Logger().With(logkey.Component, "diag"),
		cfg:   cfg,
		views: mustViews(),
		names: map[string]struct{}{},
	}
	s.watchInstance = func(id string) (changeWatch, error) { return b.WatchInstance(id) }
	s.watchInstances = func() (changeWatch, error) { return b.WatchInstances() }
	return s
}

// handler routes the requests.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.listPage)
	mux.HandleFunc("GET /fragments/instances", s.listFragment)
	mux.HandleFunc("GET /events", s.listEvents)
	mux.HandleFunc("GET /instances/{id}", s.instancePage)
	mux.HandleFunc("GET /instances/{id}/fragment", s.instanceFragment)
	mux.HandleFunc("GET /instances/{id}/events", s.instanceEvents)
	mux.HandleFunc("GET /instances/{id}/confirm", s.confirmPage)
	mux.HandleFunc("POST /instances/{id}/cancel", s.cancelAction)
	mux.HandleFunc("POST /instances/{id}/terminate", s.terminateAction)
	mux.HandleFunc("POST /instances/{id}/signal", s.signalAction)
	mux.HandleFunc("GET /api/instances", s.apiList)
	mux.HandleFunc("GET /api/instances/{id}", s.apiInstance)
	mux.HandleFunc("GET /api/instances/{id}/history", s.apiHistory)
	mux.Handle("GET /static/", s.staticHandler())
	s.routeSchedules(mux)
	s.routeBatches(mux)
	mux.HandleFunc("/", s.notFound)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	return s.prefixed(securityHeaders(cop.Handler(mux)))
}

// baseKey keys the request context's base path.
type baseKey struct{}

// prefixed finds the path the handler is mounted at (the part of the
// request's path that a http.StripPrefix took off) and keeps it in the
// request's context for the links of the pages.
func (s *server) prefixed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := basePath(r)
		if r.URL.Path == "" && !strings.HasSuffix(requestPath(r), "/") {
			// Mounted at /p and asked for /p: the pages live under /p/.
			target := base + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/") {
			// StripPrefix took the slash too ("/p/" rather than "/p").
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path = "/" + u.Path
			if u.RawPath != "" {
				u.RawPath = "/" + u.RawPath
			}
			r2.URL = &u
			r = r2
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), baseKey{}, base)))
	})
}

// basePath is the request's path before any http.StripPrefix, minus the
// path the handler sees: "" at the root, "/workflows" under that prefix.
func basePath(r *http.Request) string {
	full, own := requestPath(r), r.URL.EscapedPath()
	if full == "" {
		return ""
	}
	base, ok := strings.CutSuffix(full, own)
	if !ok {
		return ""
	}
	return strings.TrimSuffix(base, "/")
}

// requestPath is the escaped path the client asked for, before any
// http.StripPrefix; "" when unknown.
func requestPath(r *http.Request) string {
	if r.RequestURI == "" || r.RequestURI == "*" {
		return ""
	}
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	return u.EscapedPath()
}

// base is the mount path of the handler serving r.
func base(r *http.Request) string {
	b, _ := r.Context().Value(baseKey{}).(string)
	return b
}

// securityHeaders sets headers that keep the pages from being framed or
// made to run anything but their own script.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// requestContext bounds the NATS work done for one request.
func (s *server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.requestTimeout)
}

// instanceURL is the page of an instance; run, if set, selects a run.
func instanceURL(base, id, run string) string {
	u := base + "/instances/" + pathSegment(id)
	if run != "" {
		u += "?run=" + url.QueryEscape(run)
	}
	return u
}

// pathSegment escapes s as one path segment. Unlike url.PathEscape alone it
// also escapes the dot segments "." and "..", which path cleaning would
// otherwise remove.
func pathSegment(s string) string {
	e := url.PathEscape(s)
	if e == "." || e == ".." {
		return strings.ReplaceAll(e, ".", "%2E")
	}
	return e
}

// instanceID reads and checks the {id} of the request's path. It writes a
// 400 page and returns false for an ID that cannot name an instance.
func (s *server) instanceID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, err := streams.EncodeInstanceID(id); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Invalid instance ID", "The ID in this address cannot name a workflow instance: "+err.Error())
		return "", false
	}
	return id, true
}

// statusOf maps a client error to an HTTP status.
func statusOf(err error) int {
	switch {
	case isNotFound(err), errors.Is(err, client.ErrExecutionNotFound):
		return http.StatusNotFound
	case errors.Is(err, streams.ErrInvalidName):
		return http.StatusBadRequest
	case errors.Is(err, client.ErrInstanceFinished):
		return http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// notFound answers every path the UI does not have.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no page at "+r.URL.Path+".")
}

// crossOriginDenied answers a POST that came from another site.
func (s *server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("refused a cross-origin request", "method", r.Method, "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	s.errorPage(w, r, http.StatusForbidden, "Cross-origin request refused",
		"This action came from another site, so it was not carried out. Use the buttons of this UI.")
}

// rememberNames keeps the workflow names seen, for the workflow filter.
func (s *server) rememberNames(infos []*client.InstanceInfo) {
	s.namesMu.Lock()
	defer s.namesMu.Unlock()
	for _, in := range infos {
		if len(s.names) >= 500 {
			return
		}
		s.names[in.WorkflowName] = struct{}{}
	}
}

// knownNames returns the workflow names seen, sorted.
func (s *server) knownNames(extra ...string) []string {
	s.namesMu.Lock()
	out := make([]string, 0, len(s.names)+len(extra))
	for n := range s.names {
		out = append(out, n)
	}
	s.namesMu.Unlock()
	for _, n := range extra {
		if n != "" {
			out = append(out, n)
		}
	}
	return sortedUnique(out)
}

func sortedUnique(in []string) []string {
	seen := make(map[string]struct{}, len(in))
	out := in[:0]
	for _, s := range in {
		if _, ok := seen[s]; ok || s == "" {
			continue
		}
		seen[s] = struct{}{}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a), strings.ToLower(b)), cmp.Compare(a, b))
	})
	return out
}
