package diag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// listQuery is what the list shows: filters and the page.
type listQuery struct {
	Status   streams.Status
	Workflow string
	Q        string
	// Search holds the search-attribute pairs every instance listed has
	// (nil for all), from the repeatable parameter search=KEY=VALUE.
	Search map[string]string
	Limit  int
	Cursor string
	// Back holds the cursors of the pages before this one, oldest
	// first ("" is the first page), for the "newer" link.
	Back []string
}

// maxBack bounds how many earlier pages the "newer" links remember.
const maxBack = 50

// errBadQuery marks a query parameter the list cannot take.
var errBadQuery = errors.New("bad query")

// parseListQuery reads the list's parameters.
func (s *server) parseListQuery(r *http.Request) (listQuery, error) {
	q := r.URL.Query()
	lq := listQuery{
		Status:   streams.Status(q.Get("status")),
		Workflow: q.Get("workflow"),
		Q:        q.Get("q"),
		Limit:    s.cfg.pageSize,
		Cursor:   q.Get("cursor"),
		Back:     q["back"],
	}
	if lq.Status != "" && !lq.Status.Valid() {
		return lq, fmt.Errorf("%w: unknown status %q; use one of %v", errBadQuery, lq.Status, streams.Statuses)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > s.cfg.maxPageSize {
			return lq, fmt.Errorf("%w: limit %q is not a number from 1 to %d", errBadQuery, l, s.cfg.maxPageSize)
		}
		lq.Limit = n
	}
	if len(lq.Back) > maxBack {
		lq.Back = lq.Back[len(lq.Back)-maxBack:]
	}
	search, err := parseSearch(q["search"])
	if err != nil {
		return lq, err
	}
	lq.Search = search
	return lq, nil
}

// parseSearch reads search=KEY=VALUE parameters; empty ones (a blank field
// of the form) are skipped, and a later pair with the same key wins.
func parseSearch(params []string) (map[string]string, error) {
	var out map[string]string
	for _, p := range params {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%w: search %q is not KEY=VALUE", errBadQuery, truncate(p, 100))
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	if err := streams.CheckSearchAttributes(out); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadQuery, err)
	}
	return out, nil
}

// searchPairs are the search filter's pairs as KEY=VALUE, sorted.
func (lq listQuery) searchPairs() []string {
	out := make([]string, 0, len(lq.Search))
	for _, k := range slices.Sorted(maps.Keys(lq.Search)) {
		out = append(out, k+"="+lq.Search[k])
	}
	return out
}

// values encodes the query; the page size only when it is not the default.
func (lq listQuery) values(defaultLimit int) url.Values {
	v := url.Values{}
	if lq.Status != "" {
		v.Set("status", string(lq.Status))
	}
	if lq.Workflow != "" {
		v.Set("workflow", lq.Workflow)
	}
	if lq.Q != "" {
		v.Set("q", lq.Q)
	}
	for _, p := range lq.searchPairs() {
		v.Add("search", p)
	}
	if lq.Limit != defaultLimit {
		v.Set("limit", strconv.Itoa(lq.Limit))
	}
	if lq.Cursor != "" {
		v.Set("cursor", lq.Cursor)
	}
	for _, b := range lq.Back {
		v.Add("back", b)
	}
	return v
}

// url is the address of the list, or of another view of it (path), with
// the query.
func (lq listQuery) url(base, path string, defaultLimit int) string {
	u := base + path
	if enc := lq.values(defaultLimit).Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}

// listView is the data of the list page.
type listView struct {
	Query listQuery
	// LimitParam is the page size when it is not the default.
	LimitParam string
	Tabs       []statusTab
	Rows       []rowView
	Names      []string
	// SearchPairs are the search filter's pairs (KEY=VALUE), one field
	// each in the form, which has a blank one more.
	SearchPairs []string
	Filtered    bool
	// Batch links the confirmation pages of the batch actions, which act
	// on the running instances the filters (but the status) select.
	Batch    *batchLinks
	ClearURL string
	// Total is how many instances the filters keep, across pages.
	Total int
	// Uncounted is set when the counts cannot follow the filters: the
	// index counts per status and workflow, not per search attribute, so
	// with a search filter the tabs and the pager show no counts.
	Uncounted bool
	// PageNumber counts from 1; Older and Newer link the pages around it.
	PageNumber int
	Older      string
	Newer      string
	// Token identifies what the page shows, for the event stream.
	Token string
}

// statusTab is a status filter link with its count.
type statusTab struct {
	Label  string
	Status streams.Status
	Count  int
	URL    string
	Active bool
}

// rowView is one instance of the list.
type rowView struct {
	ID       string
	URL      string
	Workflow string
	Queue    string
	Status   streams.Status
	Created  time.Time
	Updated  time.Time
	Finished bool
	Duration time.Duration
}

// listPage serves the instance list.
func (s *server) listPage(w http.ResponseWriter, r *http.Request) {
	lv, status, err := s.loadList(r)
	if err != nil {
		s.errorPage(w, r, status, "Cannot list instances", err.Error())
		return
	}
	b := base(r)
	qv := lv.Query
	s.render(w, r, http.StatusOK, "list", "Instances", lv, &live{
		Events:   qv.url(b, "/events", s.cfg.pageSize) + sep(qv.url(b, "/events", s.cfg.pageSize)) + "v=" + lv.Token,
		Fragment: qv.url(b, "/fragments/instances", s.cfg.pageSize),
	}, nil)
}

// listFragment serves the live part of the list.
func (s *server) listFragment(w http.ResponseWriter, r *http.Request) {
	lv, status, err := s.loadList(r)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	s.renderFragment(w, r, "list", "list-live", lv)
}

// sep is the separator before one more query parameter of u.
func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// loadList reads the page of instances the request asks for.
func (s *server) loadList(r *http.Request) (*listView, int, error) {
	lq, err := s.parseListQuery(r)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	page, err := s.list(ctx, lq)
	if err != nil {
		return nil, listErrorStatus(err), err
	}
	return s.listView(r, lq, page), http.StatusOK, nil
}

// errBadCursor says the list's cursor parameter is not one the list made.
var errBadCursor = errors.New("the cursor parameter is not a position in the list (follow the paging links)")

// list runs the query. A cursor the registry cannot use gives errBadCursor.
func (s *server) list(ctx context.Context, lq listQuery) (*client.InstancePage, error) {
	opts := client.ListOptions{Status: lq.Status, WorkflowName: lq.Workflow, IDContains: lq.Q, SearchAttributes: lq.Search,
		Limit: lq.Limit, Cursor: lq.Cursor}
	page, err := s.c.ListWorkflowInstances(ctx, opts)
	if err != nil && lq.Cursor != "" {
		// Tell a bad cursor from a failing registry: the same query
		// without it works.
		opts.Cursor, opts.Limit = "", 1
		if _, err2 := s.c.ListWorkflowInstances(ctx, opts); err2 == nil {
			return nil, fmt.Errorf("%w: %w", errBadQuery, errBadCursor)
		}
	}
	if err != nil {
		return nil, err
	}
	s.rememberNames(page.Instances)
	return page, nil
}

func listErrorStatus(err error) int {
	if errors.Is(err, errBadQuery) {
		return http.StatusBadRequest
	}
	return statusOf(err)
}

// listView turns a page of instances into what the list shows.
func (s *server) listView(r *http.Request, lq listQuery, page *client.InstancePage) *listView {
	b := base(r)
	now := time.Now()
	lv := &listView{
		Query:       lq,
		Names:       s.knownNames(lq.Workflow),
		SearchPairs: lq.searchPairs(),
		Filtered:    lq.Status != "" || lq.Workflow != "" || lq.Q != "" || len(lq.Search) > 0,
		ClearURL:    b + "/",
		PageNumber:  len(lq.Back) + 1,
		Batch:       batchLinksOf(b, lq),
		Uncounted:   len(lq.Search) > 0,
	}
	if lq.Limit != s.cfg.pageSize {
		lv.LimitParam = strconv.Itoa(lq.Limit)
	}
	// Status tabs keep the other filters and start at the first page.
	all := 0
	for _, st := range streams.Statuses {
		all += page.Counts[st]
	}
	tabQuery := lq
	tabQuery.Cursor, tabQuery.Back = "", nil
	tabQuery.Status = ""
	lv.Tabs = append(lv.Tabs, statusTab{Label: "All", Count: all, URL: tabQuery.url(b, "/", s.cfg.pageSize), Active: lq.Status == ""})
	for _, st := range streams.Statuses {
		if st == streams.StatusContinuedAsNew && page.Counts[st] == 0 && lq.Status != st {
			continue // a status only seen for an instant; shown when there are some
		}
		tabQuery.Status = st
		lv.Tabs = append(lv.Tabs, statusTab{Label: statusLabel(st), Status: st, Count: page.Counts[st], URL: tabQuery.url(b, "/", s.cfg.pageSize), Active: lq.Status == st})
	}
	if lq.Status == "" {
		lv.Total = all
	} else {
		lv.Total = page.Counts[lq.Status]
	}

	for _, in := range page.Instances {
		row := rowView{
			ID:       in.InstanceID,
			URL:      instanceURL(b, in.InstanceID, ""),
			Workflow: in.WorkflowName,
			Queue:    in.Queue,
			Status:   in.Status,
			Created:  in.CreatedAt,
			Updated:  in.UpdatedAt,
		}
		if !in.FinishedAt.IsZero() {
			row.Finished = true
			row.Updated = in.FinishedAt
			row.Duration = in.FinishedAt.Sub(in.CreatedAt)
		} else if !in.CreatedAt.IsZero() {
			row.Duration = now.Sub(in.CreatedAt)
		}
		lv.Rows = append(lv.Rows, row)
	}

	if page.NextCursor != "" {
		older := lq
		older.Back = append(append([]string(nil), lq.Back...), lq.Cursor)
		if len(older.Back) > maxBack {
			older.Back = older.Back[len(older.Back)-maxBack:]
		}
		older.Cursor = page.NextCursor
		lv.Older = older.url(b, "/", s.cfg.pageSize)
	}
	if len(lq.Back) > 0 {
		newer := lq
		newer.Cursor = lq.Back[len(lq.Back)-1]
		newer.Back = lq.Back[:len(lq.Back)-1]
		lv.Newer = newer.url(b, "/", s.cfg.pageSize)
	}
	lv.Token = listToken(page)
	return lv
}

// listToken identifies what a page of the list shows: when it changes, the
// page is worth showing again.
func listToken(page *client.InstancePage) string {
	h := sha256.New()
	for _, in := range page.Instances {
		fmt.Fprintf(h, "%q %s %s %d %d\n", in.InstanceID, in.ExecutionID, in.Status, in.UpdatedAt.UnixNano(), in.FinishedAt.UnixNano())
	}
	for _, st := range streams.Statuses {
		fmt.Fprintf(h, "%s=%d\n", st, page.Counts[st])
	}
	fmt.Fprintf(h, "next=%q\n", page.NextCursor)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// statusLabel is a status as the UI names it.
func statusLabel(st streams.Status) string {
	switch st {
	case streams.StatusRunning:
		return "Running"
	case streams.StatusCompleted:
		return "Completed"
	case streams.StatusFailed:
		return "Failed"
	case streams.StatusCanceled:
		return "Canceled"
	case streams.StatusTerminated:
		return "Terminated"
	case streams.StatusContinuedAsNew:
		return "Continued as new"
	}
	return string(st)
}
