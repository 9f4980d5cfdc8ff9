package streams

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkList measures lists on a namespace of JETFLOW_BENCH_LIST_N
// instances (default 10,000): 98% completed, 1% failed, 1% running, of ten
// workflows, one of them (Rare) 0.1% of the instances. It fills the
// namespace through CreateInstance, so the index is written as a workflow
// start writes it.
//
//	JETFLOW_BENCH_LIST_N=200000 go test ./streams/ -run '^$' -bench BenchmarkList -benchtime 200x
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
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := be.ListInstances(ctx, c.opts)
				if err != nil || len(page.Instances) == 0 {
					b.Fatalf("list: %v (%d rows)", err, len(page.Instances))
				}
			}
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
		for b.Loop() {
			if _, err := be.countByStatus(ctx, ""); err != nil {
				b.Fatal(err)
			}
		}
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

// fillInstances creates n instances through CreateInstance (registry
// entry, then index row), from 16 goroutines.
func fillInstances(b *testing.B, be *Backend, n int) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < n; i += 16 {
				status := StatusCompleted
				switch i % 100 {
				case 7:
					status = StatusFailed
				case 42:
					status = StatusRunning
				}
				r := record(fmt.Sprintf("i%07d", i), status, base.Add(time.Duration(i)*time.Millisecond))
				r.WorkflowName = fmt.Sprintf("W%d", i%10)
				if i%1000 == 500 {
					r.WorkflowName = "Rare"
				}
				if _, err := be.CreateInstance(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(b, <-errs)
}
