package diag

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
)

// BenchmarkFrontPage measures the UI's pages over a namespace of
// JETFLOW_BENCH_LIST_N instances (default 10,000), filled as the streams
// package's BenchmarkList fills it (streams.LoadInstances with
// streams.ListBenchRecord: registry entries and index rows written
// straight, not by running workflows). Each page is served by the diag
// handler through an httptest server and read whole.
//
//	JETFLOW_BENCH_LIST_N=1000000 go test ./diag/ -run '^$' -bench BenchmarkFrontPage -benchtime 30x -v
func BenchmarkFrontPage(b *testing.B) {
	n := 10000
	if s := os.Getenv("JETFLOW_BENCH_LIST_N"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	be := testenv.Namespace(b, testenv.Server(b), "uibench")
	start := time.Now()
	require.NoError(b, be.LoadInstances(context.Background(), n, streams.ListBenchRecord))
	b.Logf("filled %d instances in %s", n, time.Since(start).Round(time.Millisecond))
	srv := httptest.NewServer(NewServeMux(be))
	b.Cleanup(srv.Close)

	for _, c := range []struct{ name, path string }{
		{"front_page", "/"},
		{"front_fragment", "/fragments/instances"},
		{"status_failed", "/?status=failed"},
		{"workflow_w3", "/?workflow=W3"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(srv.URL + c.path)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took = append(took, time.Since(t0))
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %v (status %d)", c.path, err, resp.StatusCode)
				}
			}
			slices.Sort(took)
			at := func(q float64) float64 {
				return float64(took[min(len(took)-1, int(q*float64(len(took))))].Microseconds()) / 1000
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
		})
	}
}
