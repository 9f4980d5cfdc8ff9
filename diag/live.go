package diag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
)

// The event streams send two events: "change" (data: a token of the new
// state) when what the page shows may have changed, and "gone" when the
// instance no longer exists. Lines starting with ':' keep the connection
// open.

// eventStream writes server-sent events.
type eventStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// startEventStream sends the response's header. Each write gets its own
// deadline, which also lifts a server's WriteTimeout for the stream.
func startEventStream(w http.ResponseWriter, timeout time.Duration) (*eventStream, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell nginx not to buffer the stream
	w.WriteHeader(http.StatusOK)
	es := &eventStream{w: w, rc: http.NewResponseController(w), timeout: timeout}
	// The browser reconnects 2 s after a lost connection.
	if err := es.write("retry: 2000\n\n"); err != nil {
		return nil, err
	}
	return es, nil
}

func (es *eventStream) write(s string) error {
	if err := es.rc.SetWriteDeadline(time.Now().Add(es.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := io.WriteString(es.w, s); err != nil {
		return err
	}
	return es.rc.Flush()
}

func (es *eventStream) event(name, data string) error {
	return es.write("event: " + name + "\ndata: " + data + "\n\n")
}

// errGone ends a stream whose subject no longer exists.
var errGone = errors.New("gone")

// follow runs an event stream until the client goes away: it waits for
// change notices of watch, and re-checks every recheck in case core NATS
// dropped one. Each check computes a token of what the page shows; a token
// unlike the last one sent sends a "change" event. known is the token the
// page was made with, first the one computed as the stream started. Checks
// are at least gap apart.
func (s *server) follow(ctx context.Context, es *eventStream, watch changeWatch, recheck, gap time.Duration, known, first string, check func(context.Context) (string, error)) {
	lastCheck := time.Now()
	run := func() error {
		lastCheck = time.Now()
		cctx, cancel := context.WithTimeout(ctx, s.cfg.requestTimeout)
		tok, err := check(cctx)
		cancel()
		switch {
		case errors.Is(err, errGone):
			es.event("gone", "{}")
			return err
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Debug("event stream: re-check failed; trying again later", logkey.Err, err)
			return nil
		case tok == known:
			return nil
		}
		known = tok
		return es.event("change", tok)
	}
	if first != known {
		known = first
		if err := es.event("change", first); err != nil {
			return
		}
	}
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	keep := time.NewTicker(s.cfg.keepAlive)
	defer keep.Stop()
	end := time.NewTimer(s.cfg.maxStream)
	defer end.Stop()
	var later *time.Timer
	var laterC <-chan time.Time
	defer func() {
		if later != nil {
			later.Stop()
		}
	}()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-watch.C():
			if wait := gap - time.Since(lastCheck); wait > 0 {
				if laterC == nil {
					later = time.NewTimer(wait)
					laterC = later.C
				}
				continue
			}
			err = run()
		case <-laterC:
			laterC = nil
			err = run()
		case <-tick.C:
			if time.Since(lastCheck) >= recheck/2 {
				err = run()
			}
		case <-keep.C:
			err = es.write(": keep-alive\n\n")
		}
		if err != nil {
			return
		}
	}
}

// instanceEvents streams the changes of one instance.
func (s *server) instanceEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := streams.EncodeInstanceID(id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Watch first, then read: a change in between is seen.
	watch, err := s.watchInstance(id)
	if err != nil {
		s.log.Error("watch instance", logkey.Instance, id, logkey.Err, err)
		http.Error(w, "cannot watch the instance: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer watch.Stop()
	var st instanceState
	check := func(ctx context.Context) (string, error) {
		tok, err := s.instanceToken(ctx, id, &st)
		if isNotFound(err) {
			return "", errGone
		}
		return tok, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.requestTimeout)
	first, err := check(ctx)
	cancel()
	if err != nil {
		if errors.Is(err, errGone) {
			http.Error(w, fmt.Sprintf("no instance %q", id), http.StatusNotFound)
			return
		}
		http.Error(w, err.Error(), statusOf(err))
		return
	}
	es, err := startEventStream(w, s.cfg.writeTimeout)
	if err != nil {
		return
	}
	s.follow(r.Context(), es, watch, s.cfg.recheck, s.cfg.instanceGap, r.URL.Query().Get("v"), first, check)
}

// instanceState is what an instance's event stream knows of the instance
// between two checks, so a check reads only what is new.
type instanceState struct {
	run string
	seq uint64
}

// instanceToken identifies the state of an instance: the revision of its
// registry entry and the last commit of its current run's history, as the
// instance page computes it.
func (s *server) instanceToken(ctx context.Context, id string, st *instanceState) (string, error) {
	rec, err := s.b.GetInstance(ctx, id)
	if err != nil {
		return "", err
	}
	if rec.ExecutionID != st.run {
		st.run, st.seq = rec.ExecutionID, 0
	}
	h, err := s.b.ReadHistoryAfter(ctx, id, st.run, st.seq)
	if err != nil {
		return "", err
	}
	st.seq = h.LastSeq
	return fmt.Sprintf("%d-%d", rec.Revision, st.seq), nil
}

// listEvents streams the changes of the list, with the list's filters.
func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	lq, err := s.parseListQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	watch, err := s.watchInstances()
	if err != nil {
		s.log.Error("watch instances", logkey.Err, err)
		http.Error(w, "cannot watch the instances: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer watch.Stop()
	check := func(ctx context.Context) (string, error) {
		page, err := s.list(ctx, lq)
		if err != nil {
			return "", err
		}
		return listToken(page), nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.requestTimeout)
	first, err := check(ctx)
	cancel()
	if err != nil {
		http.Error(w, err.Error(), listErrorStatus(err))
		return
	}
	es, err := startEventStream(w, s.cfg.writeTimeout)
	if err != nil {
		return
	}
	s.follow(r.Context(), es, watch, s.cfg.listRecheck, s.cfg.listGap, r.URL.Query().Get("v"), first, check)
}

// isNotFound reports whether err says the instance does not exist.
func isNotFound(err error) bool {
	return errors.Is(err, client.ErrInstanceNotFound)
}
