package diag

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// stream is an open event stream read by a test.
type stream struct {
	t      *testing.T
	lines  chan string
	cancel context.CancelFunc
}

// openStream opens an event stream of the server.
func openStream(t *testing.T, url string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	s := &stream{t: t, lines: make(chan string, 1024), cancel: cancel}
	go func() {
		defer res.Body.Close()
		defer close(s.lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return s
}

// next waits for the next event of the stream and returns its name;
// comments and retry lines are skipped.
func (s *stream) next(within time.Duration) (string, bool) {
	s.t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				return "", false
			}
			if name, found := strings.CutPrefix(line, "event: "); found {
				return name, true
			}
		case <-deadline.C:
			return "", false
		}
	}
}

// expect waits for an event of the name.
func (s *stream) expect(name string, within time.Duration, why string) {
	s.t.Helper()
	got, ok := s.next(within)
	require.True(s.t, ok, "no event within %s: %s", within, why)
	require.Equal(s.t, name, got, why)
}

// quiet checks that no event comes for a while.
func (s *stream) quiet(d time.Duration, why string) {
	s.t.Helper()
	if got, ok := s.next(d); ok {
		s.t.Fatalf("unexpected event %q: %s", got, why)
	}
}

// silentWatch never reports a change, like a core-NATS notice lost.
type silentWatch struct{ c chan struct{} }

func (w silentWatch) C() <-chan struct{} { return w.c }
func (w silentWatch) Stop() error        { return nil }

// liveServer serves the UI and reports when an event stream ends.
func liveServer(t *testing.T, e *env) (*httptest.Server, chan string) {
	ended := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.h.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "events") {
			ended <- r.URL.Path
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.CloseClientConnections)
	return srv, ended
}

func TestInstanceEvents(t *testing.T) {
	e := newEnv(t)
	e.start("live-1", Collect)
	e.waitEvents("live-1", "WorkflowStarted", 1)
	srv, ended := liveServer(t, e)
	page := e.get(instPath("live-1"))
	events := bodyAttr(page.Body, "data-live-events")
	require.NotEmpty(t, events)
	subs := e.b.Conn().NumSubscriptions()

	s := openStream(t, srv.URL+events)
	s.quiet(3*e.s.cfg.recheck, "the page is up to date")

	require.NoError(t, e.c.SignalWorkflow(e.ctx(), "live-1", "approve", Approval{By: "ann"}))
	s.expect("change", 20*time.Second, "a signal was received")
	// The change shows in the fragment the script then fetches.
	e.waitEvents("live-1", "SignalReceived", 1)
	assert.Contains(t, e.get("/instances/live-1/fragment").Body, `data-kind="SignalReceived"`)

	require.NoError(t, e.c.CancelWorkflowInstance(e.ctx(), &workflow.Instance{InstanceID: "live-1"}))
	s.expect("change", 20*time.Second, "the run was canceled")
	e.waitStatus("live-1", streams.StatusCanceled)

	// The client goes: the stream ends and its watch is stopped.
	s.cancel()
	select {
	case path := <-ended:
		assert.Equal(t, "/instances/live-1/events", path)
	case <-time.After(20 * time.Second):
		t.Fatal("the event stream did not end after its client went away")
	}
	waitFor(t, 20*time.Second, "the watch's subscriptions to go", func() bool {
		return e.b.Conn().NumSubscriptions() <= subs
	})

	t.Run("behind at once", func(t *testing.T) {
		// A page made before a change hears of it as soon as it connects.
		s := openStream(t, srv.URL+"/instances/live-1/events?v=0-0")
		s.expect("change", 20*time.Second, "the page's token is old")
		s.quiet(3*e.s.cfg.recheck, "nothing changed since")
	})

	t.Run("gone", func(t *testing.T) {
		s := openStream(t, srv.URL+"/instances/live-1/events")
		s.expect("change", 20*time.Second, "no token given")
		require.NoError(t, e.c.RemoveWorkflowInstance(e.ctx(), &workflow.Instance{InstanceID: "live-1"}))
		s.expect("gone", 20*time.Second, "the instance was removed")
		_, open := s.next(20 * time.Second)
		assert.False(t, open, "the stream ends")
	})
}

func TestInstanceEventsWithoutNotices(t *testing.T) {
	e := newEnv(t)
	// Every notice is lost: the periodic re-check must see the change.
	e.s.watchInstance = func(string) (changeWatch, error) { return silentWatch{c: make(chan struct{})}, nil }
	e.h = e.s.handler()
	e.start("quiet-1", Collect)
	e.waitEvents("quiet-1", "WorkflowStarted", 1)
	srv, _ := liveServer(t, e)
	events := bodyAttr(e.get(instPath("quiet-1")).Body, "data-live-events")

	s := openStream(t, srv.URL+events)
	s.quiet(2*e.s.cfg.recheck, "nothing changed")
	require.NoError(t, e.c.SignalWorkflow(e.ctx(), "quiet-1", "approve", Approval{By: "ann"}))
	s.expect("change", 20*time.Second, "the re-check sees the signal")
}

func TestListEvents(t *testing.T) {
	e := newEnv(t)
	e.start("first", Decline, "x")
	e.waitStatus("first", streams.StatusFailed)
	srv, ended := liveServer(t, e)
	page := e.get("/?status=running")
	events := bodyAttr(page.Body, "data-live-events")
	require.Contains(t, events, "/events?status=running&v=")

	s := openStream(t, srv.URL+events)
	s.quiet(3*e.s.cfg.listRecheck, "the list is up to date")

	e.start("second", Collect)
	s.expect("change", 20*time.Second, "an instance started")
	assert.Equal(t, []string{"second"}, rowIDs(e.get("/fragments/instances?status=running").Body))

	s.cancel()
	select {
	case path := <-ended:
		assert.Equal(t, "/events", path)
	case <-time.After(20 * time.Second):
		t.Fatal("the list's event stream did not end after its client went away")
	}

	assert.Equal(t, http.StatusBadRequest, e.get("/events?status=nope").Code)
}

// TestEventStreamWithWriteTimeout checks that a server's WriteTimeout does
// not cut an event stream: each write sets its own deadline.
func TestEventStreamWithWriteTimeout(t *testing.T) {
	e := newEnv(t)
	e.start("slow-1", Collect)
	e.waitEvents("slow-1", "WorkflowStarted", 1)
	srv := httptest.NewUnstartedServer(e.h)
	srv.Config.WriteTimeout = 500 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(srv.CloseClientConnections)
	events := bodyAttr(e.get(instPath("slow-1")).Body, "data-live-events")

	s := openStream(t, srv.URL+events)
	// Past the server's write timeout, the stream still works.
	s.quiet(4*srv.Config.WriteTimeout, "nothing changed")
	require.NoError(t, e.c.SignalWorkflow(e.ctx(), "slow-1", "approve", Approval{By: "ann"}))
	s.expect("change", 20*time.Second, "a signal after the write timeout")
}
