package streams

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkList measures lists on a namespace of JETFLOW_BENCH_LIST_N
// instances (default 10,000): 98% completed, 1% failed, 1% running, of ten
// workflows, one of them (Rare) 0.1% of the instances; each has the search
// attribute region (ten values) and 0.1% have tier=gold. It fills the
// namespace with LoadInstances (registry entries, index rows and counts
// written straight, pipelined, not by running workflows or through
// CreateInstance): the rows are the ones CreateInstance writes, in
// creation order. ListBenchRecord makes the records.
//
//	JETFLOW_BENCH_LIST_N=1000000 go test ./streams/ -run '^$' -bench 'BenchmarkList/[^r]' -benchtime 30x -v
func BenchmarkList(b *testing.B) {
	n := 10000
	if s := os.Getenv("JETFLOW_BENCH_LIST_N"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	be := newBackend(b)
	ctx := context.Background()
	start := time.Now()
	fillInstances(b, be, n)
	b.Logf("filled %d instances in %s", n, time.Since(start).Round(time.Millisecond))

	cases := []struct {
		name string
		opts ListOptions
	}{
		{"first50", ListOptions{Limit: 50}},
		{"status_failed_50", ListOptions{Status: StatusFailed, Limit: 50}},
		{"status_running_50", ListOptions{Status: StatusRunning, Limit: 50}},
		{"workflow_w3_50", ListOptions{WorkflowName: "W3", Limit: 50}},
		{"workflow_rare_50", ListOptions{WorkflowName: "Rare", Limit: 50}},
		{"attr_region_50", ListOptions{SearchAttributes: map[string]string{"region": "r3"}, Limit: 50}},
		{"attr_tier_gold_50", ListOptions{SearchAttributes: map[string]string{"tier": "gold"}, Limit: 50}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				page, err := be.ListInstances(ctx, c.opts)
				took = append(took, time.Since(start))
				if err != nil {
					b.Fatalf("list: %v", err)
				}
				if len(page.Instances) == 0 {
					b.Fatal("list: no rows")
				}
			}
			reportPercentiles(b, took)
		})
	}
	b.Run("second_page_50", func(b *testing.B) {
		first, err := be.ListInstances(ctx, ListOptions{Limit: 50})
		require.NoError(b, err)
		for b.Loop() {
			if _, err := be.ListInstances(ctx, ListOptions{Limit: 50, After: first.NextCursor}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("counts", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			if _, err := be.countByStatus(ctx, ""); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(start))
		}
		reportPercentiles(b, took)
	})
	b.Run("registry_scan_first50", func(b *testing.B) {
		// The list before the index: every registry entry read.
		for b.Loop() {
			if _, err := be.ListInstances(ctx, ListOptions{Limit: 50, IDContains: "i"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportPercentiles reports the p50 and p99 of took, in milliseconds.
func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[min(len(took)-1, int(q*float64(len(took))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// fillInstances loads n instances (ListBenchRecord) with LoadInstances.
func fillInstances(b *testing.B, be *Backend, n int) {
	require.NoError(b, be.LoadInstances(context.Background(), n, ListBenchRecord))
}
