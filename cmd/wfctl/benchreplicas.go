package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/jetflow/jetflow/internal/bench"
	"github.com/jetflow/jetflow/streams"
)

// benchReplicaCounts parses --replicas: one count, or several separated by
// commas, each 1 to 5 and, when the cluster's size is known (clusterSize
// above zero), no more than it.
func benchReplicaCounts(list string, clusterSize int) ([]int, error) {
	var out []int
	for s := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 5 {
			return nil, fmt.Errorf("--replicas %q: each count must be a number from 1 to 5", list)
		}
		if clusterSize > 0 && n > clusterSize {
			return nil, fmt.Errorf("--replicas %d: the cluster has only %d node(s)", n, clusterSize)
		}
		out = append(out, n)
	}
	return out, nil
}

// withReplicas returns cfg with every stream of its namespaces, the
// floor's too, kept in n copies.
func withReplicas(cfg bench.Config, n int) bench.Config {
	cfg.Streams = append(slices.Clone(cfg.Streams), streams.WithReplicas(n))
	cfg.Replicas = n
	return cfg
}

// replicasReport is one run of a --replicas list in bench's JSON output.
type replicasReport struct {
	Replicas int           `json:"replicas"`
	Report   *bench.Report `json:"report"`
}

// benchEachReplicas runs the benchmark once per replica count, in the
// order given, on one server or cluster (each run in a namespace of its
// own), prints each report and then a table of the counts side by side,
// with each run's throughput as a share of the first's.
func benchEachReplicas(ctx context.Context, a *app, env *bench.Env, cfg bench.Config, counts []int,
	newProgress func() *progressLine, asJSON bool) error {
	variants := make([]benchVariant, len(counts))
	for i, n := range counts {
		variants[i] = benchVariant{name: fmt.Sprintf("replicas %d", n), cfg: withReplicas(cfg, n)}
	}
	reps, err := benchInTurn(ctx, a, env, variants, newProgress, asJSON)
	if err != nil {
		return err
	}
	reports := make([]replicasReport, len(reps))
	for i, rep := range reps {
		reports[i] = replicasReport{Replicas: counts[i], Report: rep}
	}
	if asJSON {
		return writeJSON(a.stdout, reports)
	}
	printReplicasTable(a, reports)
	return nil
}

// printReplicasTable writes the replica counts' figures side by side.
func printReplicasTable(a *app, reports []replicasReport) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "replicas\tworkflows/s\tof R%d\tp50 ms\tp99 ms\tfloor workflows/s\tefficiency\n", reports[0].Replicas)
	first := reports[0].Report.WorkflowsPerSecond
	for _, r := range reports {
		p50, p99 := "-", "-"
		if l := r.Report.Latency; l != nil {
			p50, p99 = fmt.Sprintf("%.1f", l.P50), fmt.Sprintf("%.1f", l.P99)
		}
		share := "-"
		if first > 0 {
			share = fmt.Sprintf("%.2f", r.Report.WorkflowsPerSecond/first)
		}
		floorRate, eff := "-", "-"
		if f := r.Report.Floor; f != nil {
			floorRate = fmt.Sprintf("%.0f", f.WorkflowsPerSecond)
			if f.WorkflowsPerSecond > 0 {
				eff = fmt.Sprintf("%.0f%%", 100*r.Report.WorkflowsPerSecond/f.WorkflowsPerSecond)
			}
		}
		fmt.Fprintf(tw, "R%d\t%.0f\t%s\t%s\t%s\t%s\t%s\n", r.Replicas, r.Report.WorkflowsPerSecond, share, p50, p99, floorRate, eff)
	}
	tw.Flush()
}
