package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// startDev runs "wfctl dev" on dir, a free port and a free UI port, and
// returns it with the NATS URL it printed.
func startDev(t *testing.T, dir, namespace string) (*process, string) {
	p, url, _ := startDevUI(t, dir, namespace)
	return p, url
}

// startDevUI is startDev that also returns the web UI's printed URL.
func startDevUI(t *testing.T, dir, namespace string) (p *process, natsURL, uiURL string) {
	t.Helper()
	p = startWfctl(t, "dev", "--dir", dir, "--port", "0", "--ui", "127.0.0.1:0", "--namespace", namespace)
	uiURL = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p.waitLine("web UI:")), "web UI:"))
	require.True(t, strings.HasPrefix(uiURL, "http://127.0.0.1:"), "printed UI URL %q", uiURL)
	line := p.waitLine("export NATS_URL=")
	natsURL = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export NATS_URL="))
	require.True(t, strings.HasPrefix(natsURL, "nats://127.0.0.1:"), "printed URL %q", natsURL)
	return p, natsURL, uiURL
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// openStream starts a request whose answer never ends (the UI's live
// updates) and returns once its headers are in.
func openStream(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Cleanup(func() { resp.Body.Close() })
}

func TestDev(t *testing.T) {
	dir := t.TempDir()
	const ns = "devtest"
	p, url, ui := startDevUI(t, dir, ns)

	// A client in another process's shoes: connect to the printed URL and
	// start an instance (no worker needed: it stays running).
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	b, err := streams.New(nc, streams.WithNamespace(ns))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err = client.New(b).CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "kept"}, "Nobody", "input")
	require.NoError(t, err)
	nc.Close()

	r := runWfctl(t, commandTimeout, "describe", "kept", "--server", url, "--namespace", ns)
	require.Equal(t, 0, r.code, r)

	// The web UI shows it, and a live stream left open does not hold
	// up the stop.
	code, body := get(t, ui)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "kept")
	openStream(t, ui+"instances/kept/events")

	// Ctrl-C: a clean exit.
	p.signal(os.Interrupt)
	require.Equal(t, 0, p.wait(), p.errOutput())
	assert.Contains(t, p.errOutput(), "stopped; state kept in "+dir)

	// Started again on the same folder, the instance is still there.
	p, url = startDev(t, dir, ns)
	r = runWfctl(t, commandTimeout, "describe", "kept", "--server", url, "--namespace", ns, "--json")
	require.Equal(t, 0, r.code, r)
	assert.Contains(t, r.stdout, `"workflow": "Nobody"`)
	assert.Contains(t, r.stdout, `"status": "running"`)
	p.signal(syscall.SIGTERM)
	require.Equal(t, 0, p.wait(), p.errOutput())
}

func TestDevPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	r := runWfctl(t, commandTimeout, "dev", "--dir", t.TempDir(), "--port", strconv.Itoa(port))
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "cannot listen on 127.0.0.1:")
	assert.Contains(t, r.stderr, "--port chooses another port")
}

func TestDevWithoutUI(t *testing.T) {
	p := startWfctl(t, "dev", "--dir", t.TempDir(), "--port", "0", "--ui", "off")
	assert.Contains(t, p.waitLine("web UI:"), "off")
	p.signal(os.Interrupt)
	require.Equal(t, 0, p.wait(), p.errOutput())
}

func TestUI(t *testing.T) {
	dir := t.TempDir()
	const ns = "uitest"
	dev, url := startDev(t, dir, ns)
	defer func() {
		dev.signal(os.Interrupt)
		dev.wait()
	}()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace(ns))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err = client.New(b).CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "shown"}, "Nobody")
	require.NoError(t, err)

	r := runWfctl(t, commandTimeout, "ui", "--server", url, "--namespace", "nobody", "--listen", "127.0.0.1:0")
	assert.Equal(t, exitNotFound, r.code, r)
	assert.Contains(t, r.stderr, "nobody")

	p := startWfctl(t, "ui", "--server", url, "--namespace", ns, "--listen", "127.0.0.1:0")
	line := p.waitLine("jetflow web UI")
	ui := strings.TrimSpace(line[strings.LastIndex(line, " at ")+len(" at "):])
	require.True(t, strings.HasPrefix(ui, "http://127.0.0.1:"), "printed %q", line)

	code, body := get(t, ui)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "shown")
	code, body = get(t, ui+"instances/shown")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "Nobody")
	code, _ = get(t, ui+"instances/missing")
	assert.Equal(t, http.StatusNotFound, code)

	openStream(t, ui+"instances/shown/events")
	p.signal(os.Interrupt)
	require.Equal(t, 0, p.wait(), p.errOutput())
}

func TestUIBadAddress(t *testing.T) {
	r := runWfctl(t, commandTimeout, "ui", "--listen", "no-port-here")
	assert.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, "want host:port")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	r = runWfctl(t, commandTimeout, "ui", "--listen", l.Addr().String())
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "cannot serve the UI on "+l.Addr().String())
	assert.Contains(t, r.stderr, "--listen chooses another address")

	r = runWfctl(t, commandTimeout, "dev", "--dir", t.TempDir(), "--port", "0", "--ui", l.Addr().String())
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "--ui chooses another address")
}

func TestServices(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServices(ctx, []service{httpService(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/forever" {
				// Like a live stream: it ends only with its request.
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			io.WriteString(w, "served")
		}))})
	}()
	_, body := get(t, "http://"+l.Addr().String()+"/")
	assert.Equal(t, "served", body)
	openStream(t, "http://"+l.Addr().String()+"/forever")
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(waitTimeout):
		t.Fatal("the services did not stop")
	}

	// A service that fails stops the others and gives its error.
	failed := errors.New("broken")
	err = runServices(context.Background(), []service{
		func(ctx context.Context) error { <-ctx.Done(); return nil },
		func(context.Context) error { return failed },
	})
	assert.ErrorIs(t, err, failed)
}

// TestComposeUICommand runs the web UI's command line from
// docker-compose.yml (with its NATS_URL pointed at a test server), so the
// compose file cannot ask wfctl for something it does not do.
func TestComposeUICommand(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^  ui:\n(?:    .*\n)*?    command: (\[.*\])\n`).FindSubmatch(data)
	require.NotNil(t, m, "docker-compose.yml has a ui service with a command")
	var args []string
	require.NoError(t, json.Unmarshal(m[1], &args))
	require.Equal(t, "ui", args[0])
	assert.Contains(t, string(data), `entrypoint: ["/usr/local/bin/wfctl"]`)

	const ns = "default" // the compose file's workers use the default namespace
	dev, url := startDev(t, t.TempDir(), ns)
	defer func() {
		dev.signal(os.Interrupt)
		dev.wait()
	}()
	// Its address, 0.0.0.0:8233, may be taken here: a later --listen wins.
	p := startWfctlEnv(t, []string{"NATS_URL=" + url}, append(args, "--listen", "127.0.0.1:0")...)
	line := p.waitLine("jetflow web UI")
	ui := strings.TrimSpace(line[strings.LastIndex(line, " at ")+len(" at "):])
	code, _ := get(t, ui)
	assert.Equal(t, http.StatusOK, code)
	p.signal(os.Interrupt)
	require.Equal(t, 0, p.wait(), p.errOutput())
}
