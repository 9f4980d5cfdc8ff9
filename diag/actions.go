package diag

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// maxFormBytes bounds the body of an action.
const maxFormBytes = 1 << 20

// defaultTerminateReason is the reason of a terminate sent without one.
const defaultTerminateReason = "terminated from the web UI"

// confirmView is the data of the confirmation page.
type confirmView struct {
	Action  string // cancel, terminate, signal
	ID      string
	URL     string // the instance page
	Actions *actionsView
}

// confirmPage asks before an action, for browsers without JavaScript (with
// it, a dialog on the instance page asks).
func (s *server) confirmPage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.instanceID(w, r)
	if !ok {
		return
	}
	run, ok := s.runParam(w, r)
	if !ok {
		return
	}
	action := r.URL.Query().Get("action")
	switch action {
	case "cancel", "terminate", "signal":
	default:
		s.errorPage(w, r, http.StatusBadRequest, "Unknown action", fmt.Sprintf("%q is not an action; use cancel, terminate or signal.", truncate(action, 40)))
		return
	}
	b := base(r)
	title := map[string]string{"cancel": "Cancel ", "terminate": "Terminate ", "signal": "Signal "}[action] + id
	s.render(w, r, http.StatusOK, "confirm", title, &confirmView{
		Action:  action,
		ID:      id,
		URL:     instanceURL(b, id, ""),
		Actions: actionsOf(b, id, run),
	}, nil, nil)
}

// actionForm reads the form of an action: the instance, the run, and the
// confirmation every action form carries. It writes an error page and
// returns false when they do not do.
func (s *server) actionForm(w http.ResponseWriter, r *http.Request) (id, run string, ok bool) {
	if id, ok = s.instanceID(w, r); !ok {
		return "", "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Unreadable form", "The form could not be read: "+err.Error())
		return "", "", false
	}
	if r.PostForm.Get("confirm") != "yes" {
		s.errorPage(w, r, http.StatusBadRequest, "Not confirmed",
			"Actions must be confirmed: use the buttons of the instance page, which ask first.")
		return "", "", false
	}
	run = r.PostForm.Get("run")
	if run != "" {
		if err := streams.CheckExecutionID(run); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "Invalid run", fmt.Sprintf("The run %q is not an execution ID: %v", truncate(run, 100), err))
			return "", "", false
		}
	}
	return id, run, true
}

// finishAction tells how an action went: back to the instance page with a
// message, or a 404 page for an instance that does not exist.
func (s *server) finishAction(w http.ResponseWriter, r *http.Request, id, what, okMsg string, err error) {
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			s.instanceError(w, r, id, "", err)
			return
		}
		s.log.Warn(what+" from the web UI failed", logkey.Instance, id, logkey.Err, err)
		setFlash(w, r, "error", what+" failed: "+err.Error())
	} else {
		s.log.Info(what+" from the web UI", logkey.Instance, id)
		setFlash(w, r, "ok", okMsg)
	}
	http.Redirect(w, r, instanceURL(base(r), id, ""), http.StatusSeeOther)
}

// cancelAction asks the run to cancel.
func (s *server) cancelAction(w http.ResponseWriter, r *http.Request) {
	id, run, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	err := s.c.CancelWorkflowInstance(ctx, &workflow.Instance{InstanceID: id, ExecutionID: run})
	s.finishAction(w, r, id, "Cancel", "Cancel requested", err)
}

// terminateAction ends the run at once.
func (s *server) terminateAction(w http.ResponseWriter, r *http.Request) {
	id, run, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		reason = defaultTerminateReason
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	err := s.c.TerminateWorkflowInstance(ctx, &workflow.Instance{InstanceID: id, ExecutionID: run}, reason)
	s.finishAction(w, r, id, "Terminate", "Terminate requested", err)
}

// signalAction sends a signal to the instance. A value that is not JSON
// sends nothing: the page comes back with the error and the form filled in.
func (s *server) signalAction(w http.ResponseWriter, r *http.Request) {
	id, run, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	raw := r.PostForm.Get("value")
	var problem string
	var value any
	if name == "" {
		problem = "Signal not sent: give the signal a name."
	} else if strings.TrimSpace(raw) != "" {
		v, err := parseJSONValue(raw)
		if err != nil {
			problem = "Signal not sent: the value is not valid JSON: " + err.Error()
		}
		// Typed by a person: decoded into a struct by json tag or field
		// name, and a key that names no field is an error, as from wfctl.
		value = converter.JSONInput{Value: v}
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	if problem != "" {
		iv, err := s.loadInstance(ctx, r, id, run)
		if err != nil {
			s.instanceError(w, r, id, run, err)
			return
		}
		if iv.Actions != nil {
			iv.Actions.SignalName, iv.Actions.SignalValue, iv.Actions.SignalError = name, raw, problem
		}
		s.render(w, r, http.StatusBadRequest, "instance", id, iv, s.instanceLive(r, iv), &flash{Kind: "error", Message: problem})
		return
	}
	err := s.c.SignalWorkflow(ctx, id, name, value)
	s.finishAction(w, r, id, "Signal", fmt.Sprintf("Signal %q sent", name), err)
}

// parseJSONValue decodes one JSON value into what the workers' decoder turns
// into a workflow's Go types: objects become maps with string keys (a struct
// takes them by field name), arrays slices, whole numbers int64 (uint64
// above its range) and other numbers float64.
func parseJSONValue(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("it ends too early")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("there is more after the value (wrap several values in an array)")
	}
	return withNumbers(v)
}

// withNumbers replaces the json.Numbers in v.
func withNumbers(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return jsonNumber(v)
	case []any:
		for i := range v {
			n, err := withNumbers(v[i])
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
	case map[string]any:
		for k, e := range v {
			n, err := withNumbers(e)
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
	}
	return v, nil
}

func jsonNumber(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil {
		return nil, fmt.Errorf("the number %s is out of range", n)
	}
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f), nil
	}
	return f, nil
}
