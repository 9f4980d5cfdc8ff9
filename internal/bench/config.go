package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/jetflow/jetflow/streams"
)

// Workload names a benchmark.
type Workload string

// The workloads.
const (
	// Simple runs Workflows workflows of one activity each, Concurrency at
	// a time.
	Simple Workload = "simple"
	// Fanout runs Workflows workflows (default one), each running
	// Activities activities in parallel.
	Fanout Workload = "fanout"
	// Tree runs Runs trees of sub-workflows (see TreeShape).
	Tree Workload = "tree"
	// Timers starts Instances workflows that each sleep Sleep, and waits
	// until the server's timers have woken them all.
	Timers Workload = "timers"
	// Signals starts Instances workflows that each wait for a signal,
	// waits until all of them wait, then signals them all.
	Signals Workload = "signals"
	// Floor runs the JetStream operations of Workflows one-activity
	// workflows with no engine: the bound the engine is measured against.
	Floor Workload = "floor"
)

// Workloads lists every workload, in the order of the help.
var Workloads = []Workload{Simple, Fanout, Tree, Timers, Signals, Floor}

// Observer says how a run learns that a workflow ended.
type Observer string

const (
	// ObserveResult waits for each workflow with client.GetWorkflowResult,
	// as an application does: a result-notice subscription and registry
	// reads per workflow.
	ObserveResult Observer = "result"
	// ObserveWatch watches the namespace's registry with one JetStream
	// watch and sees every workflow end there: no per-workflow cost in
	// the client.
	ObserveWatch Observer = "watch"
)

// Observers lists the observers.
var Observers = []Observer{ObserveResult, ObserveWatch}

// Config is one benchmark run. Zero fields take the defaults of
// DefaultConfig for the workload.
type Config struct {
	Workload Workload

	// Workflows is how many workflows simple, fanout and floor run.
	Workflows int
	// Concurrency bounds how many workflows (tree: roots; timers and
	// signals: starts and waits) are in flight at once.
	Concurrency int
	// Activities is the number of activities of each fanout workflow, or
	// of each tree leaf.
	Activities int

	// The tree's shape (TreeShape), and how many roots to run.
	// ResultSize is also, when positive, the size of simple's result:
	// text its activity returns and its workflow passes on (0, simple's
	// default: an int).
	Depth, Fanout, LeafFanout, ResultSize, Runs int

	// Instances is how many workflows timers and signals keep waiting.
	Instances int
	// Sleep is how long each timers workflow sleeps.
	Sleep time.Duration

	// Local makes simple's workflow run its activity as a local activity
	// (workflow.ExecuteLocalActivity), inside its workflow task.
	Local bool

	// Warmup workflows (simple and floor) run before the measurement and
	// are not counted.
	Warmup int
	// Floor makes simple measure the floor first, in the same run, and
	// report the engine's efficiency against it.
	Floor bool
	// Observe chooses how workflow ends are observed.
	Observe Observer

	// Workers is how many workers the run starts, each with its own
	// connection, as separate processes would have.
	Workers int
	// CacheSize, TaskSlots and ActivitySlots set the workers'
	// ExecutorCacheSize, MaxParallelWorkflowTasks and
	// MaxParallelActivityTasks; 0 keeps the worker's default.
	CacheSize, TaskSlots, ActivitySlots int

	// Retention, when positive, gives the workers' backends
	// streams.WithRetention: finished instances are removed this long
	// after they finish. simple then also waits until every instance it
	// ran is removed and reports how late after their due time
	// (the "expire" phase).
	Retention time.Duration
	// NoExpiryWatch leaves out simple's expire phase under a retention:
	// no registry watch, so the run's figures carry only the retention's
	// own cost.
	NoExpiryWatch bool

	// Keep leaves the run's namespaces in place at the end.
	Keep bool

	// Streams are extra backend options for the client's and the
	// workers' backends (a payload codec, wfctl bench --codec).
	Streams []streams.Option

	// Replicas, when above zero, is how many copies of each stream the
	// floor's namespace keeps (wfctl bench --replicas; the engine's get
	// streams.WithReplicas through Streams).
	Replicas int

	// Progress, when set, is called every ProgressInterval while the run
	// goes, and at the end of each phase; calls may come from several
	// goroutines at once.
	Progress         func(Progress)
	ProgressInterval time.Duration

	// CPUProfile, when set, receives a CPU profile of the measured
	// phase.
	CPUProfile io.Writer
	// HeapProfile, when set, receives a heap profile taken while every
	// instance waits (signals): who holds the waiting memory.
	HeapProfile io.Writer

	// ServerPID, when set, is the process of the external NATS server
	// the run uses, on this machine: the report gives its resident
	// memory before, while every instance waits and at the end
	// (Report.Memory.Server). ServerStore, when set, is that server's
	// store folder, whose disk usage the report gives beside it.
	ServerPID   int
	ServerStore string

	// Logger receives the run's log lines; nil discards them.
	Logger *slog.Logger
}

// Progress is where a run stands.
type Progress struct {
	// Phase names the part of the run: "floor warmup", "floor",
	// "warmup", "run", "start", "wait", "wake".
	Phase string
	// Unit is what Done and Total count: "workflows", "activities",
	// "instances waiting".
	Unit string
	// Done of Total units (workflows; tree: workflows of finished
	// roots) are finished.
	Done, Total int64
	// Elapsed is the time since the phase began.
	Elapsed time.Duration
}

// Defaults of the workloads.
const (
	DefaultWorkflows       = 10000
	DefaultConcurrency     = 100
	DefaultFanoutActivites = 1000
	DefaultDepth           = 2
	DefaultFanout          = 2
	DefaultLeafFanout      = 2
	DefaultTreeActivities  = 2
	DefaultResultSize      = 100
	DefaultRuns            = 100
	DefaultInstances       = 1000
	DefaultSleep           = 5 * time.Second
	DefaultWarmup          = 100
)

// DefaultConfig is the configuration a workload runs with when nothing is
// set.
func DefaultConfig(w Workload) Config {
	c := Config{
		Workload:    w,
		Workflows:   DefaultWorkflows,
		Concurrency: DefaultConcurrency,
		Activities:  DefaultTreeActivities,
		Depth:       DefaultDepth,
		Fanout:      DefaultFanout,
		LeafFanout:  DefaultLeafFanout,
		ResultSize:  DefaultResultSize,
		Runs:        DefaultRuns,
		Instances:   DefaultInstances,
		Sleep:       DefaultSleep,
		Warmup:      DefaultWarmup,
		Floor:       w == Simple,
		Observe:     ObserveResult,
		Workers:     1,
	}
	switch w {
	case Simple:
		c.ResultSize = 0 // the int result; --resultsize makes it text
	case Fanout:
		c.Workflows, c.Concurrency, c.Activities = 1, 1, DefaultFanoutActivites
	case Tree:
		c.Concurrency = DefaultRuns
	case Timers:
		c.Concurrency = 1000
		c.Observe = ObserveWatch
	case Signals:
		c.Concurrency = 1000
	}
	return c
}

// Check reports what is wrong with c, in terms of the command line's flags.
func (c *Config) Check() error {
	known := false
	for _, w := range Workloads {
		known = known || w == c.Workload
	}
	if !known {
		return fmt.Errorf("unknown workload %q", c.Workload)
	}
	positive := []struct {
		name string
		v    int
	}{
		{"--workflows", c.Workflows}, {"--concurrency", c.Concurrency}, {"--workers", c.Workers},
		{"--runs", c.Runs}, {"--instances", c.Instances}, {"--fanout", c.Fanout},
		{"--leaffanout", c.LeafFanout},
	}
	for _, p := range positive {
		if p.v < 1 {
			return fmt.Errorf("%s must be at least 1, got %d", p.name, p.v)
		}
	}
	notNegative := []struct {
		name string
		v    int
	}{
		{"--activities", c.Activities}, {"--depth", c.Depth}, {"--resultsize", c.ResultSize},
		{"--warmup", c.Warmup}, {"--cache", c.CacheSize}, {"--task-slots", c.TaskSlots},
		{"--activity-slots", c.ActivitySlots},
	}
	for _, p := range notNegative {
		if p.v < 0 {
			return fmt.Errorf("%s must not be negative, got %d", p.name, p.v)
		}
	}
	if c.Workload == Fanout && c.Activities < 1 {
		return errors.New("--activities must be at least 1 for fanout")
	}
	if c.Retention < 0 {
		return fmt.Errorf("--retention must not be negative, got %s", c.Retention)
	}
	if c.Sleep < 0 {
		return fmt.Errorf("--sleep must not be negative, got %s", c.Sleep)
	}
	if c.Observe != ObserveResult && c.Observe != ObserveWatch {
		return fmt.Errorf("unknown observer %q (one of: result, watch)", c.Observe)
	}
	if c.Workload == Tree {
		s := c.TreeShape()
		if s.Workflows > 1_000_000 {
			return fmt.Errorf("a tree of --depth %d --fanout %d --leaffanout %d has %d workflows; at most 1,000,000 per root",
				c.Depth, c.Fanout, c.LeafFanout, s.Workflows)
		}
	}
	if c.Local && (c.Workload != Simple || c.ResultSize > 0) {
		return fmt.Errorf("--local is for simple without --resultsize")
	}
	if c.HeapProfile != nil && c.Workload != Signals {
		return errors.New("--memprofile is taken while every instance waits: signals only")
	}
	if c.ServerPID < 0 {
		return fmt.Errorf("--server-pid must not be negative, got %d", c.ServerPID)
	}
	if c.ServerStore != "" && c.ServerPID == 0 {
		return errors.New("--server-store goes with --server-pid")
	}
	if c.ResultSize > 512*1024 {
		return fmt.Errorf("--resultsize %d is over 512 KiB, more than a message can carry", c.ResultSize)
	}
	return nil
}

// TreeShape counts one tree of the tree workload.
//
// The root is level 0. A workflow at a level below Depth starts Fanout
// workflows of the next level ("mid" workflows); a workflow at level Depth
// starts LeafFanout leaf workflows; each leaf runs Activities activities,
// each returning ResultSize bytes. So a tree has
//
//	workflows  = 1 + Fanout + Fanout² + … + Fanout^Depth + Fanout^Depth × LeafFanout
//	activities = Fanout^Depth × LeafFanout × Activities
//
// With the defaults (depth 2, fanout 2, leaffanout 2, activities 2): 1 root,
// 2 + 4 mid workflows, 8 leaves: 15 workflows and 16 activities.
type TreeShape struct {
	// Workflows counts the root, the mid workflows and the leaves.
	Workflows int `json:"workflows"`
	// Mid counts the workflows between the root and the leaves.
	Mid int `json:"mid"`
	// Leaves counts the leaf workflows.
	Leaves int `json:"leaves"`
	// Activities counts the activities of all leaves.
	Activities int `json:"activities"`
	// ResultBytes is the sum of all activity results, which the root
	// returns.
	ResultBytes int `json:"result_bytes"`
}

// TreeShape counts a tree of c's shape. Counts too large for an int
// saturate.
func (c *Config) TreeShape() TreeShape {
	var s TreeShape
	level := 1 // workflows at the current level
	for d := 1; d <= c.Depth; d++ {
		level = satMul(level, c.Fanout)
		s.Mid = satAdd(s.Mid, level)
	}
	s.Leaves = satMul(level, c.LeafFanout)
	s.Workflows = satAdd(satAdd(1, s.Mid), s.Leaves)
	s.Activities = satMul(s.Leaves, c.Activities)
	s.ResultBytes = satMul(s.Activities, c.ResultSize)
	return s
}

func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt32/a {
		return math.MaxInt32
	}
	return a * b
}

func satAdd(a, b int) int {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}
