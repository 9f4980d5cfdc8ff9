package client_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/worker"
)

// BenchmarkBatchCancel cancels JETFLOW_BENCH_BATCH_N (default 10,000)
// running instances, a worker running beside, and reports the batch's
// rate (the dry-run count before it is not timed). Run it once:
//
//	go test ./client -run '^$' -bench BatchCancel -benchtime 1x
func BenchmarkBatchCancel(b *testing.B) {
	n := 10_000
	if s := os.Getenv("JETFLOW_BENCH_BATCH_N"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	e := wftest.New(b, wftest.Options{Prefix: "batchbench", Register: func(w *worker.Worker) {
		require.NoError(b, w.RegisterWorkflow(batchWaiter))
	}})
	ctx := context.Background()
	c := e.Client
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		start := time.Now()
		attrs := map[string]string{"round": strconv.Itoa(i)}
		var wg sync.WaitGroup
		ids := make(chan string)
		for range 32 {
			wg.Go(func() {
				for id := range ids {
					_, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id, SearchAttributes: attrs}, batchWaiter)
					if err != nil {
						b.Error(err)
					}
				}
			})
		}
		for j := range n {
			ids <- fmt.Sprintf("bb-%d-%06d", i, j)
		}
		close(ids)
		wg.Wait()
		filter := client.BatchFilter{SearchAttributes: attrs}
		got, err := c.BatchCount(ctx, filter)
		require.NoError(b, err)
		require.Equal(b, n, got)
		b.Logf("started %d instances in %s", n, time.Since(start).Round(time.Millisecond))

		b.StartTimer()
		t0 := time.Now()
		res, err := c.BatchCancel(ctx, filter, client.BatchOptions{BatchID: fmt.Sprintf("bench-%d", i)})
		took := time.Since(t0)
		require.NoError(b, err)
		require.Equal(b, n, res.Done)
		b.ReportMetric(float64(n)/took.Seconds(), "instances/s")
		b.Logf("canceled %d instances in %s: %.0f instances/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	}
}
