package bench

import (
	"maps"
	"slices"
	"time"
)

// Report is what a benchmark run measured. Counts and rates cover the
// measured phase only (no warm-up, no floor).
type Report struct {
	Workload  Workload `json:"workload"`
	Server    string   `json:"server"`
	Namespace string   `json:"namespace"`
	// Params are the parameters that shape the workload.
	Params  map[string]any `json:"params"`
	Workers int            `json:"workers,omitempty"`
	Observe Observer       `json:"observe"`
	// Tree is the shape of one tree (tree workload).
	Tree *TreeShape `json:"tree,omitempty"`

	// Workflows and Activities finished in the measured phase (a tree's
	// every workflow counts, children included).
	Workflows  int `json:"workflows"`
	Activities int `json:"activities"`
	// ElapsedSeconds is the measured phase's wall time.
	ElapsedSeconds      float64 `json:"elapsed_seconds"`
	WorkflowsPerSecond  float64 `json:"workflows_per_second"`
	ActivitiesPerSecond float64 `json:"activities_per_second"`

	// Latency is measured per started workflow (tree: per root), from
	// the moment in LatencyFrom until its result was observed.
	Latency     *Latency `json:"latency_ms,omitempty"`
	LatencyFrom string   `json:"latency_from"`

	Messages Messages `json:"messages"`
	CPU      CPU      `json:"cpu"`
	Memory   Memory   `json:"memory"`

	// Phases detail runs made of several steps (timers, signals).
	Phases []Phase `json:"phases,omitempty"`

	// Floor is the floor measured in the same run (simple), and
	// Efficiency the engine's workflows per second divided by the
	// floor's.
	Floor      *Report `json:"floor,omitempty"`
	Efficiency float64 `json:"efficiency,omitempty"`
}

// Messages counts JetStream and NATS traffic.
type Messages struct {
	// Stored is how many messages the namespace's streams stored
	// (histories, inbox, activity tasks, dead letters, registry), from
	// their last sequences; StoredPerWorkflow divides it by Workflows.
	Stored            uint64             `json:"stored"`
	StoredPerWorkflow float64            `json:"stored_per_workflow"`
	StoredByStream    map[string]float64 `json:"stored_per_workflow_by_stream"`
	// StoredBytes is how many bytes the namespace's streams (and its
	// object store of large payloads) hold after the measured phase more
	// than before: what the workflows left stored, histories and registry
	// entries above all (work-queue streams delete what is acked, so
	// their messages count only while unacknowledged). Per workflow in
	// StoredBytesPerWorkflow, and by stream.
	StoredBytes            int64              `json:"stored_bytes"`
	StoredBytesPerWorkflow float64            `json:"stored_bytes_per_workflow"`
	StoredBytesByStream    map[string]float64 `json:"stored_bytes_per_workflow_by_stream"`
	// NATS is every message the run's own connections (client and
	// workers) sent or received: publishes, JetStream API requests and
	// their replies, acknowledgements, delivered messages, result
	// notices. Per workflow in NATSPerWorkflow.
	NATS            uint64  `json:"nats"`
	NATSPerWorkflow float64 `json:"nats_per_workflow"`
}

// CPU is the process's CPU time (user and system) in the measured phase.
type CPU struct {
	Seconds            float64 `json:"seconds"`
	PerWorkflowMicros  float64 `json:"per_workflow_us"`
	PerActivityMicros  float64 `json:"per_activity_us,omitempty"`
	UtilisationPercent float64 `json:"utilisation_percent"`
	// Includes says whose CPU time it is: with an embedded server, the
	// server's too.
	Includes string `json:"includes"`
}

// Memory is the process's memory while the run went.
type Memory struct {
	// PeakRSSBytes and PeakHeapBytes are the largest resident size and
	// heap (objects, live or not yet swept) sampled during the measured
	// phase.
	PeakRSSBytes  uint64 `json:"peak_rss_bytes"`
	PeakHeapBytes uint64 `json:"peak_heap_bytes"`
	// MaxRSSBytes is the process's peak resident size since it started.
	MaxRSSBytes uint64 `json:"max_rss_bytes"`
	// WaitingLiveHeapBytes is the live heap, after a collection, while
	// every instance waited (timers, signals).
	WaitingLiveHeapBytes uint64 `json:"waiting_live_heap_bytes,omitempty"`
	WaitingRSSBytes      uint64 `json:"waiting_rss_bytes,omitempty"`
	// WaitingStackBytes and WaitingGoroutines are the goroutines' stacks
	// (not in the heap) and their number while every instance waited:
	// a cached executor keeps its workflow's goroutines.
	WaitingStackBytes uint64 `json:"waiting_stack_bytes,omitempty"`
	WaitingGoroutines uint64 `json:"waiting_goroutines,omitempty"`
	// Server is the external server's memory and store, with
	// Config.ServerPID.
	Server *ServerMemory `json:"server,omitempty"`
	// Includes says whose memory it is.
	Includes string `json:"includes"`
}

// Phase is one step of a run.
type Phase struct {
	Name      string   `json:"name"`
	Count     int      `json:"count"`
	Seconds   float64  `json:"seconds"`
	PerSecond float64  `json:"per_second"`
	Latency   *Latency `json:"latency_ms,omitempty"`
	// LatencyFrom says what the phase's latency is measured from.
	LatencyFrom string `json:"latency_from,omitempty"`
}

// measured fills the counters of r from the snapshots around the measured
// phase.
func (r *Report) measured(before, after snapshot, mem *memorySampler, embedded bool) {
	elapsed := after.at.Sub(before.at)
	r.ElapsedSeconds = round(elapsed.Seconds())
	r.WorkflowsPerSecond = rate(r.Workflows, elapsed)
	r.ActivitiesPerSecond = rate(r.Activities, elapsed)

	r.Messages.StoredByStream = map[string]float64{}
	for _, what := range slices.Sorted(maps.Keys(after.stored)) {
		n := after.stored[what] - before.stored[what]
		r.Messages.Stored += n
		r.Messages.StoredByStream[what] = per(float64(n), r.Workflows)
	}
	r.Messages.StoredPerWorkflow = per(float64(r.Messages.Stored), r.Workflows)
	r.Messages.StoredBytesByStream = map[string]float64{}
	for _, what := range slices.Sorted(maps.Keys(after.bytes)) {
		n := int64(after.bytes[what]) - int64(before.bytes[what])
		r.Messages.StoredBytes += n
		r.Messages.StoredBytesByStream[what] = per(float64(n), r.Workflows)
	}
	r.Messages.StoredBytesPerWorkflow = per(float64(r.Messages.StoredBytes), r.Workflows)
	r.Messages.NATS = after.msgs - before.msgs
	r.Messages.NATSPerWorkflow = per(float64(r.Messages.NATS), r.Workflows)

	cpu := after.cpu - before.cpu
	r.CPU.Seconds = round(cpu.Seconds())
	r.CPU.PerWorkflowMicros = per(float64(cpu)/float64(time.Microsecond), r.Workflows)
	r.CPU.PerActivityMicros = per(float64(cpu)/float64(time.Microsecond), r.Activities)
	if elapsed > 0 {
		r.CPU.UtilisationPercent = round(100 * cpu.Seconds() / elapsed.Seconds())
	}
	r.CPU.Includes = "this process: client, workers"
	r.Memory.Includes = "this process: client, workers"
	if embedded {
		r.CPU.Includes += " and the embedded NATS server"
		r.Memory.Includes += " and the embedded NATS server"
	}
	if mem != nil {
		r.Memory.PeakRSSBytes = mem.peakRSS.Load()
		r.Memory.PeakHeapBytes = mem.peakHeap.Load()
	}
	r.Memory.MaxRSSBytes = maxRSS()
}
