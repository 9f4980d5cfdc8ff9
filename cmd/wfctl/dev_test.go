package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
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

// startDev runs "wfctl dev" on dir and a free port and returns it with the
// URL it printed.
func startDev(t *testing.T, dir, namespace string) (*process, string) {
	t.Helper()
	p := startWfctl(t, "dev", "--dir", dir, "--port", "0", "--namespace", namespace)
	line := p.waitLine("export NATS_URL=")
	url := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export NATS_URL="))
	require.True(t, strings.HasPrefix(url, "nats://127.0.0.1:"), "printed URL %q", url)
	return p, url
}

func TestDev(t *testing.T) {
	dir := t.TempDir()
	const ns = "devtest"
	p, url := startDev(t, dir, ns)

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

func TestServices(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServices(ctx, []service{httpService(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "served")
		}))})
	}()
	resp, err := http.Get("http://" + l.Addr().String() + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "served", string(body))
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
