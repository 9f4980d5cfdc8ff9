package tester

import (
	"log/slog"
	"testing"
	"time"

	"github.com/jetflow/jetflow/converter"

	"github.com/jetflow/jetflow/workflow"
)

// DefaultTestTimeout is how much wall time Execute gives a workflow unless
// WithTestTimeout says otherwise.
const DefaultTestTimeout = 10 * time.Second

// DefaultInstanceID is the instance ID of the workflow under test unless
// WithInstanceID says otherwise.
const DefaultInstanceID = "test-instance"

// defaultQueue is the queue the workflow under test runs on, as the worker's
// default queue.
const defaultQueue = "default"

// defaultActivityTimeout bounds an activity attempt without a
// StartToCloseTimeout, as the worker's default ActivityTimeout does.
const defaultActivityTimeout = 10 * time.Minute

// An Option configures a WorkflowTester.
type Option func(*config)

type config struct {
	props       []workflow.ContextPropagator
	start       time.Time
	timeout     time.Duration
	logger      *slog.Logger
	conv        converter.Converter
	tb          testing.TB
	instanceID  string
	name        string
	replayCheck bool
	followCAN   bool
}

// WithStartTime sets the workflow time at which the workflow starts
// (workflow.Now in its first step). The default is the wall clock when the
// tester is made.
func WithStartTime(t time.Time) Option {
	return func(c *config) { c.start = t }
}

// WithTestTimeout bounds the wall time Execute may take. A workflow that
// has not finished by then (an activity that hangs, a workflow that loops
// forever on timers) fails the test with a description of what it is
// waiting for. Zero or less means no limit. The default is
// DefaultTestTimeout.
func WithTestTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithLogger sets the logger behind workflow.Logger and activity.Logger.
// The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithConverter sets the converter that encodes arguments, results and
// signals, as the worker's must match the clients'. The default is
// converter.Default.
func WithConverter(conv converter.Converter) Option {
	return func(c *config) { c.conv = conv }
}

// WithTB makes the tester report a failure of the test itself (an
// unexpected activity call, a test timeout, bad setup) with tb.Fatal, and
// log with tb.Logf when Execute returns with the workflow still waiting.
// Without it, those failures panic, which fails the test too. Methods that
// report failures must then be called from the test's goroutine.
func WithTB(tb testing.TB) Option {
	return func(c *config) { c.tb = tb }
}

// WithInstanceID sets the instance ID of the workflow under test
// (workflow.GetInfo). The default is DefaultInstanceID.
func WithInstanceID(id string) Option {
	return func(c *config) { c.instanceID = id }
}

// WithWorkflowName sets the name the workflow under test is registered
// under (workflow.GetInfo, and what a sub-workflow call by name finds). The
// default is the function's name, as the worker registers it.
func WithWorkflowName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithReplayCheck makes the tester replay the history of every run that
// ends on a fresh executor, as a worker does after a cache miss, and fail
// the test if the workflow code does not issue the same commands again (a
// workflow that is not deterministic). Workflow code runs twice then, so
// counters it keeps outside the workflow count twice.
func WithReplayCheck() Option {
	return func(c *config) { c.replayCheck = true }
}

// WithFollowContinueAsNew makes the tester go on when the workflow under
// test calls workflow.ContinueAsNew: it starts the next run with the
// arguments given, as a worker does, and WorkflowResult reports the last
// run. Without it, Execute stops at the end of the first run and
// WorkflowResult returns a *ContinuedAsNewError. Sub-workflows always go
// on, since their parent waits for their last run.
func WithFollowContinueAsNew() Option {
	return func(c *config) { c.followCAN = true }
}

// WithContextPropagators sets the context propagators, as
// worker.Options.ContextPropagators: values the workflow's context
// carries reach its activities' context.Context and its sub-workflows.
func WithContextPropagators(props ...workflow.ContextPropagator) Option {
	return func(c *config) { c.props = props }
}

// A RegisterOption changes how RegisterWorkflow or RegisterActivity
// registers a function.
type RegisterOption func(*registerConfig)

type registerConfig struct {
	name   string
	prefix string
}

// WithNamePrefix registers a function as prefix + its own name, and a
// struct's methods as prefix + method name, as worker.WithNamePrefix does.
func WithNamePrefix(prefix string) RegisterOption {
	return func(c *registerConfig) { c.prefix = prefix }
}

// WithName registers a function under name instead of its own name, as
// worker.WithName does.
func WithName(name string) RegisterOption {
	return func(c *registerConfig) { c.name = name }
}
