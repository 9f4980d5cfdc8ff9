package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
)

// dashboard is the part of a Grafana dashboard JSON the test reads.
type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// promNames runs Greeting on a worker whose meter provider exports to
// Prometheus, as examples/worker does with METRICS_ADDR, and returns the
// metric family names a scrape of it shows.
func promNames(t *testing.T) map[string]bool {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	require.NoError(t, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer func() { _ = mp.Shutdown(context.Background()) }()

	srv, err := embedded.Start(embedded.Options{})
	require.NoError(t, err)
	defer srv.Shutdown()
	nc, err := srv.Connect()
	require.NoError(t, err)
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace("metrics"), streams.WithMeterProvider(mp))
	require.NoError(t, err)
	w := worker.New(b, nil)
	require.NoError(t, w.RegisterWorkflow(Greeting))
	require.NoError(t, w.RegisterActivity(Greet))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.Start(ctx))
	defer func() {
		cancel()
		_ = w.WaitForCompletion()
	}()
	c := client.New(b)
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Greeting, "ann")
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[string](ctx, c, inst, 20*time.Second)
	require.NoError(t, err)

	names := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams, err := reg.Gather()
		require.NoError(t, err)
		for _, f := range fams {
			names[f.GetName()] = true
		}
		if names["jetflow_workflow_completed_total"] || time.Now().After(deadline) {
			return names
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDashboardMetricsExist checks that every jetflow metric the Grafana
// dashboard queries is one a worker actually exports to Prometheus (the
// exporter renames: dots to underscores, _total on counters, _seconds on
// durations), so the dashboard cannot drift from the instruments.
func TestDashboardMetricsExist(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("grafana", "dashboards", "jetflow.json"))
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(data, &d))
	require.NotEmpty(t, d.Panels)

	exported := promNames(t)
	var list []string
	for n := range exported {
		list = append(list, n)
	}
	sort.Strings(list)
	t.Logf("exported: %s", strings.Join(list, " "))

	// Counters that a scrape shows only once they have counted something
	// (a conflict, an eviction, …): they must at least be instruments of
	// internal/telemetry under their OpenTelemetry names.
	src, err := os.ReadFile(filepath.Join("..", "internal", "telemetry", "telemetry.go"))
	require.NoError(t, err)
	instrument := func(prom string) bool {
		otelName := strings.ReplaceAll(strings.TrimSuffix(prom, "_total"), "_", ".")
		otelName = strings.Replace(otelName, "dead.letters", "dead_letters", 1)
		otelName = strings.Replace(otelName, "queue.lag", "queue_lag", 1)
		otelName = strings.Replace(otelName, "schedule.to.start", "schedule_to_start", 1)
		return strings.Contains(string(src), `"`+otelName+`"`)
	}
	metricName := regexp.MustCompile(`jetflow_[a-z_]+`)
	// Gauges that only wfctl dev exports (read from its server).
	devOnly := map[string]bool{"jetflow_queue_pending": true, "jetflow_stream_messages": true}
	// Labels (attributes) the panels group by, not metrics.
	labels := map[string]bool{"jetflow_workflow": true, "jetflow_status": true, "jetflow_activity": true,
		"jetflow_outcome": true, "jetflow_queue": true, "jetflow_kind": true, "jetflow_consumer": true, "jetflow_namespace": true}
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has a query", p.Title)
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				if devOnly[base] || labels[m] {
					continue
				}
				assert.True(t, exported[base] || (strings.HasSuffix(base, "_total") && instrument(base)),
					"panel %q queries %s, which a worker does not export", p.Title, m)
			}
		}
	}
}

// TestComposeRunsPrometheusAndGrafana checks docker-compose.yml wires the
// dashboard: Prometheus scrapes the workers' METRICS_ADDR, Grafana loads
// the provisioning and the dashboard from deploy/.
func TestComposeRunsPrometheusAndGrafana(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	require.NoError(t, err)
	compose := string(data)
	for _, want := range []string{
		"METRICS_ADDR: 0.0.0.0:9464",
		"./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
		"./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
		"./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro",
	} {
		assert.Contains(t, compose, want)
	}
	prom, err := os.ReadFile(filepath.Join("prometheus", "prometheus.yml"))
	require.NoError(t, err)
	assert.Contains(t, string(prom), "worker")
	assert.Contains(t, string(prom), "9464")
}
