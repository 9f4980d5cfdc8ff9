package diag

import (
	"encoding/json"
	"net/http"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// The JSON API returns the same data as the pages, in the JSON forms of
// package client. Errors are {"error": "..."} with a fitting status.

// apiHistoryResponse is the history of one run, decoded for display.
type apiHistoryResponse struct {
	InstanceID  string                 `json:"instance_id"`
	ExecutionID string                 `json:"execution_id"`
	LastSeq     uint64                 `json:"last_seq"`
	Events      []*client.DecodedEvent `json:"events"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// apiList serves a page of instances: the list's parameters (status,
// workflow, q, search, limit, cursor); next_cursor gives the next page.
func (s *server) apiList(w http.ResponseWriter, r *http.Request) {
	lq, err := s.parseListQuery(r)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	page, err := s.list(ctx, lq)
	if err != nil {
		writeJSONError(w, listErrorStatus(err), err.Error())
		return
	}
	if page.Instances == nil {
		page.Instances = []*client.InstanceInfo{}
	}
	writeJSON(w, http.StatusOK, page)
}

// apiInstance serves the description of an instance.
func (s *server) apiInstance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := streams.EncodeInstanceID(id); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	d, err := s.c.DescribeWorkflowInstance(ctx, id)
	if err != nil {
		writeJSONError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// apiHistory serves the decoded history of a run (?run=, default the
// current one).
func (s *server) apiHistory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := streams.EncodeInstanceID(id); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	run := r.URL.Query().Get("run")
	if run != "" {
		if err := streams.CheckExecutionID(run); err != nil {
			writeJSONError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	h, err := s.c.GetWorkflowHistory(ctx, &workflow.Instance{InstanceID: id, ExecutionID: run})
	if err != nil {
		writeJSONError(w, statusOf(err), err.Error())
		return
	}
	events := s.c.DecodeEvents(h.Events)
	if events == nil {
		events = []*client.DecodedEvent{}
	}
	writeJSON(w, http.StatusOK, &apiHistoryResponse{InstanceID: h.InstanceID, ExecutionID: h.ExecutionID, LastSeq: h.LastSeq, Events: events})
}
