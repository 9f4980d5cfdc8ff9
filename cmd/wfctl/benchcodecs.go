package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/jetflow/jetflow/internal/bench"
	"github.com/jetflow/jetflow/streams"
)

// benchCodecChoice is one codec of bench's --codec list.
type benchCodecChoice struct {
	name string
	opts []streams.Option
}

// benchCodecs parses --codec: one codec name, or several separated by
// commas.
func benchCodecs(list string) ([]benchCodecChoice, error) {
	var out []benchCodecChoice
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			name = "none"
		}
		opts, err := benchCodec(name)
		if err != nil {
			return nil, err
		}
		out = append(out, benchCodecChoice{name: name, opts: opts})
	}
	return out, nil
}

// codecReport is one run of a --codec list in bench's JSON output.
type codecReport struct {
	Codec  string        `json:"codec"`
	Report *bench.Report `json:"report"`
}

// benchEachCodec runs the benchmark once per codec, in the order given, on
// one server (each run in a namespace of its own), prints each report and
// then a table of the codecs side by side.
func benchEachCodec(ctx context.Context, a *app, env *bench.Env, cfg bench.Config, codecs []benchCodecChoice,
	newProgress func() *progressLine, asJSON bool) error {
	variants := make([]benchVariant, len(codecs))
	for i, c := range codecs {
		run := cfg
		run.Streams = append(slices.Clone(cfg.Streams), c.opts...)
		variants[i] = benchVariant{name: "codec " + c.name, cfg: run}
	}
	reps, err := benchInTurn(ctx, a, env, variants, newProgress, asJSON)
	if err != nil {
		return err
	}
	reports := make([]codecReport, len(reps))
	for i, rep := range reps {
		reports[i] = codecReport{Codec: codecs[i].name, Report: rep}
	}
	if asJSON {
		return writeJSON(a.stdout, reports)
	}
	printCodecTable(a, reports)
	return nil
}

// printCodecTable writes the codecs' figures side by side.
func printCodecTable(a *app, reports []codecReport) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "codec\tworkflows/s\tp50 ms\tp99 ms\tstored bytes/workflow")
	for _, r := range reports {
		p50, p99 := "-", "-"
		if l := r.Report.Latency; l != nil {
			p50, p99 = fmt.Sprintf("%.1f", l.P50), fmt.Sprintf("%.1f", l.P99)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.0f\n", r.Codec, r.Report.WorkflowsPerSecond, p50, p99,
			r.Report.Messages.StoredBytesPerWorkflow)
	}
	tw.Flush()
}
