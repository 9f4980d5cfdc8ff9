package main

import (
	"context"
	"fmt"

	"github.com/jetflow/jetflow/internal/bench"
)

// benchVariant is one run of a benchmark compared with others in one
// sitting: --codec and --replicas lists.
type benchVariant struct {
	name string // "codec zstd", "replicas 3"
	cfg  bench.Config
}

// benchInTurn runs the variants one after the other on env (each in a
// namespace of its own), with a progress line each, prints each report
// unless asJSON, and returns the reports in the variants' order.
func benchInTurn(ctx context.Context, a *app, env *bench.Env, variants []benchVariant,
	newProgress func() *progressLine, asJSON bool) ([]*bench.Report, error) {
	reports := make([]*bench.Report, 0, len(variants))
	for _, v := range variants {
		run := v.cfg
		fmt.Fprintln(a.stderr, v.name)
		p := newProgress()
		run.Progress, run.ProgressInterval = p.show, p.interval
		rep, err := bench.Run(ctx, env, run)
		p.end()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("bench, %s: %w", v.name, err)
		}
		reports = append(reports, rep)
		if !asJSON {
			fmt.Fprintf(a.stdout, "== %s\n", v.name)
			printReport(a.stdout, rep)
			fmt.Fprintln(a.stdout)
		}
	}
	return reports, nil
}
