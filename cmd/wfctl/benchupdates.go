package main

import (
	"context"
	"fmt"

	"github.com/jetflow/jetflow/internal/bench"
)

// updatesWorkload is the name of `wfctl bench updates`.
const updatesWorkload = "updates"

// updatesFlags are the bench flags the updates workload reads.
type updatesFlags struct {
	updates, concurrency, instances optInt
	dir                             string
	tcp, asJSON                     bool
}

// benchUpdates runs `wfctl bench updates`: round trips and updates per
// second (bench.RunUpdates).
func benchUpdates(ctx context.Context, a *app, f updatesFlags) error {
	cfg := bench.DefaultUpdatesConfig
	f.updates.apply(&cfg.Updates)
	f.concurrency.apply(&cfg.Concurrency)
	f.instances.apply(&cfg.Instances)
	target := bench.Target{Dir: f.dir, TCP: f.tcp, Logger: a.log}
	if a.given["server"] {
		if f.dir != "" || f.tcp {
			return usageErrorf("bench: --dir and --tcp are for the embedded server; they do not go with --server")
		}
		opts, err := a.g.natsOptions()
		if err != nil {
			return err
		}
		target.URL, target.NATSOptions = a.g.server, opts
	}
	env, err := bench.Open(target)
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Fprintf(a.stderr, "bench updates on %s\n", env.Describe())
	rep, err := bench.RunUpdates(ctx, env, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bench updates: %w", err)
	}
	if f.asJSON {
		return writeJSON(a.stdout, rep)
	}
	w := a.stdout
	fmt.Fprintf(w, "updates on %s\n", rep.Server)
	fmt.Fprintf(w, "  round trip, one at a time (%d): p50 %s  p99 %s  max %s\n", rep.RoundTrip.Count,
		formatMillis(rep.RoundTrip.P50), formatMillis(rep.RoundTrip.P99), formatMillis(rep.RoundTrip.Max))
	fmt.Fprintf(w, "  into one run:     %.0f updates/s  (%d updates, %d at a time; p50 %s  p99 %s)\n",
		rep.OneRun, cfg.Updates, cfg.Concurrency, formatMillis(rep.OneRunLatency.P50), formatMillis(rep.OneRunLatency.P99))
	fmt.Fprintf(w, "  across %d runs:   %.0f updates/s  (p50 %s  p99 %s)\n",
		cfg.Instances, rep.ManyRuns, formatMillis(rep.ManyRunsLatency.P50), formatMillis(rep.ManyRunsLatency.P99))
	return nil
}
