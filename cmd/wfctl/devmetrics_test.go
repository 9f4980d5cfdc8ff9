package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// TestDevMetrics scrapes the Prometheus endpoint of "wfctl dev" over HTTP:
// it prints the endpoint's URL at start, and a workflow waiting in the
// default queue (no worker runs) shows in the stream and queue gauges.
func TestDevMetrics(t *testing.T) {
	const ns = "devmetrics"
	p := startWfctl(t, "dev", "--dir", t.TempDir(), "--port", "0", "--ui", "off", "--metrics-addr", "127.0.0.1:0", "--namespace", ns)
	metricsURL := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p.waitLine("metrics:")), "metrics:"))
	require.Regexp(t, `^http://127\.0\.0\.1:\d+/metrics$`, metricsURL)
	line := p.waitLine("export NATS_URL=")
	natsURL := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export NATS_URL="))

	nc, err := nats.Connect(natsURL)
	require.NoError(t, err)
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace(ns))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err = client.New(b).CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "waiting"}, "Nobody")
	require.NoError(t, err)

	code, body := get(t, metricsURL)
	require.Equal(t, http.StatusOK, code)
	assert.Regexp(t, regexp.MustCompile(`(?m)^jetflow_queue_pending\{.*jetflow_consumer="wft_default".*\} 1$`), body)
	assert.Regexp(t, regexp.MustCompile(`(?m)^jetflow_stream_messages\{.*jetflow_stream="WF_devmetrics_TASKS".*\} 1$`), body)
	assert.Contains(t, body, "# TYPE jetflow_stream_messages gauge")

	p.signal(os.Interrupt)
	require.Equal(t, 0, p.wait(), p.errOutput())
}

// TestDevMetricsAddressTaken: an address given and taken is an error that
// says how to choose another.
func TestDevMetricsAddressTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	r := runWfctl(t, commandTimeout, "dev", "--dir", t.TempDir(), "--port", "0", "--ui", "off", "--metrics-addr", l.Addr().String())
	require.NotEqual(t, 0, r.code, r)
	assert.Contains(t, r.stderr, "--metrics-addr chooses another address")
}
