package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func TestHelp(t *testing.T) {
	r := runWfctl(t, commandTimeout, "--help")
	require.Equal(t, 0, r.code, r)
	for _, c := range commands() {
		assert.Contains(t, r.stdout, "\n  "+c.name+" ", "command list")

		for _, form := range [][]string{{c.name, "--help"}, {"help", c.name}, {c.name, "-h"}} {
			r := runWfctl(t, commandTimeout, form...)
			require.Equal(t, 0, r.code, "%v: %s", form, r)
			assert.Contains(t, r.stdout, "Usage: wfctl "+c.name, form)
			assert.Contains(t, r.stdout, "Examples:\n  $ wfctl", form)
			assert.Empty(t, r.stderr, form)
		}
	}
	// Every command of API.md's table is there.
	for _, name := range []string{"dev", "start", "list", "describe", "history", "signal", "cancel", "terminate", "result", "query", "update", "remove", "ui", "bench"} {
		assert.Contains(t, r.stdout, "\n  "+name+" ", "API.md's command %s", name)
	}

	r = runWfctl(t, commandTimeout)
	assert.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, "Commands:")
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"list", "--bogus"}, "list: unknown flag --bogus"},
		{"unknown global flag", []string{"--bogus", "list"}, "unknown flag --bogus"},
		{"missing argument", []string{"describe"}, "describe: expected ID, got 0 arguments"},
		{"missing second argument", []string{"signal", "x"}, "signal: expected ID NAME, got 1 argument"},
		{"extra argument", []string{"describe", "a", "b"}, `unexpected argument "b"`},
		{"bad JSON", []string{"start", "Greet", "--input", "{bad"}, "invalid JSON"},
		{"two JSON values", []string{"start", "Greet", "--input", "1 2"}, "more than one value"},
		{"empty JSON", []string{"start", "Greet", "--input", " "}, "empty input"},
		{"bad JSON in one of several", []string{"start", "Mixed", "--input", "1", "--input", "[1,"}, "--input #2"},
		{"bad signal JSON", []string{"signal", "x", "approve", "--input", "nope"}, "invalid JSON"},
		{"bad query JSON", []string{"query", "x", "state", "--input", "{"}, "invalid JSON"},
		{"missing input file", []string{"start", "Greet", "--input", "@does-not-exist.json"}, "does-not-exist.json"},
		{"bad status", []string{"list", "--status", "sleeping"}, `unknown status "sleeping"`},
		{"bad limit", []string{"list", "--limit", "0"}, "--limit must be between"},
		{"bad duration", []string{"result", "x", "--wait", "soon"}, `invalid value "soon" for flag --wait`},
		{"flag without value", []string{"start", "Greet", "--id"}, "flag needs an argument: --id"},
		{"connection flag for dev", []string{"--server", "nats://127.0.0.1:1", "dev"}, "--server does not apply"},
		{"follow all runs", []string{"history", "x", "--all-runs", "--follow"}, "exclude each other"},
		{"replay without history", []string{"replay"}, "give a history --file or an instance ID"},
		{"replay bad --name", []string{"replay", "--file", "f.json", "--name", "NoEquals"}, "want Registered=Func"},
		{"replay missing file", []string{"replay", "--file", "does-not-exist.json"}, "does-not-exist.json"},
		{"tls cert without key", []string{"list", "--tlscert", "c.pem"}, "--tlscert and --tlskey go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.wfctl(tc.args...)
			assert.Equal(t, exitUsage, r.code, r)
			assert.Contains(t, r.stderr, tc.want, r)
			assert.True(t, strings.HasPrefix(r.stderr, "wfctl: "), r)
			assert.Empty(t, r.stdout, r)
		})
	}
}

func TestConnectionError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	r := runWfctl(t, commandTimeout, "list", "--server", "nats://"+addr, "--timeout", "2s")
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "connect to nats://"+addr)
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"describe", "nope"},
		{"history", "nope"},
		{"history", "nope", "--json"},
		{"history", "nope", "--all-runs"},
		{"history", "nope", "--follow"},
		{"result", "nope"},
		{"result", "nope", "--wait", "1s"},
		{"signal", "nope", "approve"},
		{"query", "nope", "state"},
		{"cancel", "nope"},
		{"terminate", "nope", "--reason", "r"},
		{"remove", "nope"},
		{"replay", "--pkg", "./testdata/replaypkg/v1", "nope"},
	} {
		r := e.wfctl(args...)
		assert.Equal(t, exitNotFound, r.code, "%v: %s", args, r)
		assert.Contains(t, r.stderr, `instance "nope" not found in namespace "`+e.ns+`"`, args)
	}

	// An instance that exists, with a run it never had.
	e.mustWfctl("start", "Greet", "--id", "g", "--input", `"x"`)
	r := e.wfctl("history", "g", "--run", "no-such-run")
	assert.Equal(t, exitNotFound, r.code, r)
	assert.Contains(t, r.stderr, "no run")
}

func TestStartReachesTypedArguments(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()

	// A JSON object reaches a struct by field name; a whole float reaches
	// an int, a whole number a float, big numbers stay exact.
	input := `{"ID": "s-1", "Qty": 3.0, "Weight": 2, "Rush": true, "Tags": ["a", "b"], "Sizes": [1, 2, 3],
		"To": {"City": "Oslo", "Zip": 150}, "Counts": {"x": 1, "y": -2}, "Big": 9007199254740993,
		"Unsigned": 18446744073709551615, "Ratio": 4, "Note": "hi"}`
	r := e.mustWfctl("start", "EchoShipment", "--id", "ship-1", "--input", input, "--json")
	var started startOutput
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &started), r)
	assert.Equal(t, "ship-1", started.InstanceID)
	assert.NotEmpty(t, started.ExecutionID)
	assert.Equal(t, "EchoShipment", started.Workflow)
	assert.Equal(t, streams.DefaultQueue, started.Queue)

	got, err := client.GetWorkflowResult[Shipment](ctx, e.c, &workflow.Instance{InstanceID: "ship-1"}, waitTimeout)
	require.NoError(t, err)
	note := "hi"
	assert.Equal(t, Shipment{
		ID: "s-1", Qty: 3, Weight: 2, Rush: true, Tags: []string{"a", "b"}, Sizes: []int{1, 2, 3},
		To: Address{City: "Oslo", Zip: 150}, Counts: map[string]int{"x": 1, "y": -2},
		Big: 9007199254740993, Unsigned: 18446744073709551615, Ratio: 4, Note: &note,
	}, got)

	// Several arguments, one --input each, from a file too; global flags
	// after the command's name.
	file := filepath.Join(t.TempDir(), "xs.json")
	require.NoError(t, os.WriteFile(file, []byte("[4, 5]\n"), 0o600))
	r = runWfctl(t, commandTimeout, "start", "Mixed", "--id", "mixed-1",
		"--input", "7", "--input", "1.5", "--input", "true", "--input", "@"+file, "--input", `"s"`,
		"--server", natsURL, "--namespace", e.ns)
	require.Equal(t, 0, r.code, r)
	assert.Contains(t, r.stdout, "mixed-1")
	s, err := client.GetWorkflowResult[string](ctx, e.c, &workflow.Instance{InstanceID: "mixed-1"}, waitTimeout)
	require.NoError(t, err)
	assert.Equal(t, "7|1.5|true|[4 5]|s", s)

	// The ID of a running instance is refused.
	e.mustWfctl("start", "Approval", "--id", "dup")
	r = e.wfctl("start", "Approval", "--id", "dup")
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, `instance "dup" is already running`)
}

func TestDescribeListResultHistory(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	for _, id := range []string{"g1", "g2"} {
		e.mustWfctl("start", "Greet", "--id", id, "--input", `"`+id+`"`, "--memo", `ticket="T-`+id+`"`, "--memo", `n=7`,
			"--search", "who="+id, "--search", "team=core")
	}
	e.mustWfctl("start", "Rejects", "--id", "r1")

	// result waits, prints the value as JSON; --json says more.
	r := e.mustWfctl("result", "g1", "--wait", "1m")
	assert.Equal(t, "\"hello, g1\"\n", r.stdout)
	r = e.mustWfctl("result", "g2", "--wait", "1m", "--json")
	var res resultOutput
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res), r)
	assert.Equal(t, resultOutput{InstanceID: "g2", ExecutionID: res.ExecutionID, Workflow: "Greet", Status: streams.StatusCompleted, Result: "hello, g2"}, res)
	assert.NotEmpty(t, res.ExecutionID)

	// A failed workflow: exit code 4, the error on stderr.
	r = e.wfctl("result", "r1", "--wait", "1m")
	assert.Equal(t, exitUnsuccessful, r.code, r)
	assert.Contains(t, r.stderr, "Rejected: order rejected")
	assert.Empty(t, r.stdout)
	r = e.wfctl("result", "r1", "--json")
	assert.Equal(t, exitUnsuccessful, r.code, r)
	res = resultOutput{}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res), r)
	assert.Equal(t, streams.StatusFailed, res.Status)
	require.NotNil(t, res.Failure)
	assert.Equal(t, "Rejected", res.Failure.Type)

	// describe
	r = e.mustWfctl("describe", "g1")
	for _, want := range []string{"Instance:", "g1", "Workflow:", "Greet", "completed", `Input:`, `["g1"]`, `Result:`, `"hello, g1"`, "History:",
		"Memo:", `n = 7`, `ticket = "T-g1"`, "Search:", "team = core", "who = g1"} {
		assert.Contains(t, r.stdout, want)
	}
	r = e.mustWfctl("describe", "g1", "--json")
	var d client.InstanceDescription
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), r)
	assert.Equal(t, "g1", d.InstanceID)
	assert.Equal(t, streams.StatusCompleted, d.Status)
	assert.Equal(t, []any{"g1"}, d.Input)
	assert.Equal(t, "hello, g1", d.Result)
	assert.Equal(t, map[string]any{"ticket": "T-g1", "n": float64(7)}, d.Memo)
	assert.Equal(t, map[string]string{"who": "g1", "team": "core"}, d.SearchAttributes)
	assert.Positive(t, d.HistoryLength)
	assert.True(t, d.Pending.Empty())
	r = e.mustWfctl("describe", "r1")
	assert.Contains(t, r.stdout, "Rejected: order rejected")

	// list: newest first, counts, filters, pages.
	var page client.InstancePage
	r = e.mustWfctl("list", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"r1", "g2", "g1"}, ids(page))
	assert.Equal(t, map[streams.Status]int{streams.StatusCompleted: 2, streams.StatusFailed: 1}, page.Counts)
	assert.Empty(t, page.NextCursor)

	r = e.mustWfctl("list")
	assert.Contains(t, r.stdout, "INSTANCE ID")
	assert.Contains(t, r.stdout, "total 3: completed 2, failed 1")
	lines := strings.Split(r.stdout, "\n")
	require.Greater(t, len(lines), 3)
	assert.True(t, strings.HasPrefix(lines[1], "r1 "), r.stdout)

	page = client.InstancePage{}
	r = e.mustWfctl("list", "--status", "failed", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"r1"}, ids(page))

	page = client.InstancePage{}
	r = e.mustWfctl("list", "--workflow", "Greet", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"g2", "g1"}, ids(page))
	assert.Equal(t, map[streams.Status]int{streams.StatusCompleted: 2}, page.Counts)

	page = client.InstancePage{}
	r = e.mustWfctl("list", "--search", "team=core", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"g2", "g1"}, ids(page))
	page = client.InstancePage{}
	r = e.mustWfctl("list", "--search", "team=core", "--search", "who=g1", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"g1"}, ids(page))
	assert.Equal(t, map[string]string{"who": "g1", "team": "core"}, page.Instances[0].SearchAttributes)
	r = e.wfctl("list", "--search", "team")
	assert.NotZero(t, r.code, r)
	// The counts are of every instance (the index does not count by search
	// attribute), and the table says so.
	r = e.mustWfctl("list", "--search", "who=g1")
	assert.Contains(t, r.stdout, "total 3: completed 2, failed 1 (not narrowed by --search)\n", r.stdout)

	page = client.InstancePage{}
	r = e.mustWfctl("list", "--limit", "1", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"r1"}, ids(page))
	require.NotEmpty(t, page.NextCursor)
	r = e.mustWfctl("list", "--limit", "1")
	assert.Contains(t, r.stdout, "more: wfctl list --cursor '"+page.NextCursor+"'")
	cursor := page.NextCursor
	page = client.InstancePage{}
	r = e.mustWfctl("list", "--limit", "1", "--cursor", cursor, "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"g2"}, ids(page))

	page = client.InstancePage{}
	r = e.mustWfctl("list", "--all", "--limit", "1", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r)
	assert.Equal(t, []string{"r1", "g2", "g1"}, ids(page))
	assert.Empty(t, page.NextCursor)

	// history: decoded for reading, lossless JSON for replay.
	r = e.mustWfctl("history", "g1")
	for _, want := range []string{"instance g1, run ", "WorkflowStarted", `args ["g1"]`, "ActivityScheduled", "Hello", "ActivityCompleted", `result "hello, g1"`, "WorkflowCompleted"} {
		assert.Contains(t, r.stdout, want)
	}
	r = e.mustWfctl("history", "g1", "--json")
	assert.Contains(t, r.stdout, `"kind": "WorkflowStarted"`)
	var hf worker.HistoryFile
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &hf), r)
	assert.Equal(t, "g1", hf.InstanceID)
	assert.Equal(t, d.ExecutionID, hf.ExecutionID)
	require.NotEmpty(t, hf.Events)
	assert.Equal(t, history.WorkflowStarted, hf.Events[0].Kind)
	assert.Equal(t, history.WorkflowCompleted, hf.Events[len(hf.Events)-1].Kind)
	stored, err := e.c.GetWorkflowHistory(ctx, &workflow.Instance{InstanceID: "g1"})
	require.NoError(t, err)
	assertSameEvents(t, stored.Events, hf.Events)

	// The file replays against the code.
	path := filepath.Join(t.TempDir(), "g1.json")
	require.NoError(t, os.WriteFile(path, []byte(r.stdout), 0o600))
	rp := worker.NewReplayer(nil)
	require.NoError(t, rp.RegisterWorkflow(Greet))
	require.NoError(t, rp.ReplayFile(path))
}

// assertSameEvents compares events as JSON (times lose their monotonic
// reading and location in a round trip).
func assertSameEvents(t *testing.T, want, got []history.Event) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(w), string(g))
}

func ids(p client.InstancePage) []string {
	out := make([]string, len(p.Instances))
	for i, in := range p.Instances {
		out[i] = in.InstanceID
	}
	return out
}

// waitStarted waits until a worker has taken the instance's run up.
func (e *env) waitStarted(id string) {
	e.t.Helper()
	ctx := e.ctx()
	waitFor(e.t, "instance "+id+" to start", func() bool {
		h, err := e.c.GetWorkflowHistory(ctx, &workflow.Instance{InstanceID: id})
		return err == nil && len(h.Events) > 0
	})
}

func TestSignalQueryCancelTerminateRemove(t *testing.T) {
	e := newEnv(t)

	// signal, query, result
	e.mustWfctl("start", "Approval", "--id", "a1")
	e.waitStarted("a1")
	r := e.mustWfctl("query", "a1", "state")
	assert.Equal(t, "\"waiting\"\n", r.stdout)
	r = e.mustWfctl("query", "a1", "echo", "--input", `"hi"`, "--input", "3", "--json")
	var q queryOutput
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &q), r)
	assert.Equal(t, queryOutput{InstanceID: "a1", Query: "echo", Result: "hi x3"}, q)
	r = e.wfctl("query", "a1", "no-such-query")
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "no-such-query")

	// update: a result, a rejection (nothing recorded), the same ID again
	r = e.mustWfctl("update", "a1", "set-state", "--input", `"checking"`, "--update-id", "u1")
	assert.Equal(t, "\"state is checking\"\n", r.stdout)
	r = e.mustWfctl("query", "a1", "state")
	assert.Equal(t, "\"checking\"\n", r.stdout)
	r = e.wfctl("update", "a1", "set-state", "--input", `""`)
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "update rejected: the state must not be empty")
	r = e.mustWfctl("update", "a1", "set-state", "--input", `"other"`, "--update-id", "u1", "--json")
	var u updateOutput
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &u), r)
	assert.Equal(t, updateOutput{InstanceID: "a1", Update: "set-state", UpdateID: "u1", Result: "state is checking"}, u)
	r = e.mustWfctl("history", "a1")
	assert.Contains(t, r.stdout, "UpdateAccepted")
	assert.Contains(t, r.stdout, `set-state, update ID "u1"`)
	assert.Contains(t, r.stdout, "UpdateCompleted")

	r = e.wfctl("result", "a1")
	assert.Equal(t, exitNotFinished, r.code, r)
	assert.Contains(t, r.stderr, "is running; --wait D waits for it")
	r = e.wfctl("result", "a1", "--wait", "100ms")
	assert.Equal(t, exitNotFinished, r.code, r)
	assert.Contains(t, r.stderr, "after waiting 100ms")

	r = e.mustWfctl("signal", "a1", "approve", "--input", `"ann"`)
	assert.Contains(t, r.stdout, `sent signal "approve" to instance a1`)
	r = e.mustWfctl("result", "a1", "--wait", "1m")
	assert.Equal(t, "\"approved by ann\"\n", r.stdout)
	r = e.wfctl("signal", "a1", "approve")
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "has already finished")

	// remove
	r = e.mustWfctl("remove", "a1")
	assert.Contains(t, r.stdout, "removed instance a1")
	assert.Equal(t, exitNotFound, e.wfctl("describe", "a1").code)

	// cancel (and remove refuses a running instance)
	e.mustWfctl("start", "Approval", "--id", "a2")
	e.waitStarted("a2")
	r = e.wfctl("remove", "a2")
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "is still running")
	e.mustWfctl("cancel", "a2")
	r = e.wfctl("result", "a2", "--wait", "1m")
	assert.Equal(t, exitUnsuccessful, r.code, r)
	assert.Contains(t, r.stderr, "was canceled")
	r = e.mustWfctl("describe", "a2", "--json")
	var d client.InstanceDescription
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), r)
	assert.Equal(t, streams.StatusCanceled, d.Status)

	// terminate
	e.mustWfctl("start", "Approval", "--id", "a3")
	e.mustWfctl("terminate", "a3", "--reason", "duplicate order")
	r = e.wfctl("result", "a3", "--wait", "1m")
	assert.Equal(t, exitUnsuccessful, r.code, r)
	assert.Contains(t, r.stderr, "was terminated: duplicate order")
	r = e.mustWfctl("describe", "a3")
	assert.Contains(t, r.stdout, "terminated")
	assert.Contains(t, r.stdout, "duplicate order")
	r = e.wfctl("cancel", "a3")
	assert.Equal(t, exitError, r.code, r)
	assert.Contains(t, r.stderr, "has already finished")
}

func TestHistoryFollow(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	_, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "steps"}, Stepper, 2)
	require.NoError(t, err)

	p := startWfctl(t, "--server", natsURL, "--namespace", e.ns, "history", "steps", "--follow")
	p.waitLine("WorkflowStarted")
	// Each step happens only once the follower has shown the one before:
	// the lines appear while the workflow runs.
	require.NoError(t, e.c.SignalWorkflow(ctx, "steps", "next", 1))
	assert.Contains(t, p.waitLine("ActivityCompleted"), "result 2")
	require.NoError(t, e.c.SignalWorkflow(ctx, "steps", "next", 5))
	assert.Contains(t, p.waitLine("WorkflowCompleted"), "result 12")
	assert.Equal(t, 0, p.wait(), p.errOutput())

	// IDs increase line by line, without gaps or repeats.
	var last int
	for _, line := range strings.Split(p.output(), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		id, err := strconv.Atoi(fields[0])
		if err != nil {
			continue
		}
		assert.Equal(t, last+1, id, "event IDs in:\n%s", p.output())
		last = id
	}
}

func TestHistoryFollowInterrupted(t *testing.T) {
	e := newEnv(t)
	e.mustWfctl("start", "Approval", "--id", "waiting")
	p := startWfctl(t, "--server", natsURL, "--namespace", e.ns, "history", "waiting", "--follow")
	p.waitLine("WorkflowStarted")
	p.signal(os.Interrupt)
	assert.Equal(t, 0, p.wait(), p.errOutput())
}

func TestHistoryFollowAcrossRuns(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	_, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "relay"}, Relay, 1, 2)
	require.NoError(t, err)

	p := startWfctl(t, "--server", natsURL, "--namespace", e.ns, "history", "relay", "--follow", "--json")
	first := p.waitLine("WorkflowStarted")
	require.NoError(t, e.c.SignalWorkflow(ctx, "relay", "go", struct{}{}))
	p.waitLine("WorkflowContinuedAsNew")
	second := p.waitLine("WorkflowStarted")
	require.NoError(t, e.c.SignalWorkflow(ctx, "relay", "go", struct{}{}))
	p.waitLine("WorkflowCompleted")
	assert.Equal(t, 0, p.wait(), p.errOutput())

	var a, b followedEvent
	require.NoError(t, json.Unmarshal([]byte(first), &a))
	require.NoError(t, json.Unmarshal([]byte(second), &b))
	assert.Equal(t, "relay", a.InstanceID)
	assert.NotEqual(t, a.ExecutionID, b.ExecutionID)
	assert.Equal(t, a.ExecutionID, b.Event.ContinuedExecutionID)
	for _, line := range strings.Split(p.output(), "\n") {
		var ev followedEvent
		require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
		require.NotNil(t, ev.Event, line)
	}
}

func TestHistoryAllRuns(t *testing.T) {
	e := newEnv(t)
	e.mustWfctl("start", "Counter", "--id", "counter", "--input", "0")
	// result follows the instance across continue-as-new.
	r := e.mustWfctl("result", "counter", "--wait", "1m")
	assert.Equal(t, "2\n", r.stdout)

	r = e.mustWfctl("history", "counter", "--all-runs", "--json")
	var runs []worker.HistoryFile
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs), r)
	require.Len(t, runs, 3)
	for i, run := range runs {
		require.NotEmpty(t, run.Events)
		assert.Equal(t, history.WorkflowStarted, run.Events[0].Kind)
		if i > 0 {
			assert.Equal(t, runs[i-1].ExecutionID, run.Events[0].ContinuedExecutionID)
		}
	}

	// --run reads one run's own end: the first run continued with 1.
	rr := e.mustWfctl("result", "counter", "--run", runs[0].ExecutionID, "--json")
	var end resultOutput
	require.NoError(t, json.Unmarshal([]byte(rr.stdout), &end), rr)
	assert.Equal(t, streams.StatusContinuedAsNew, end.Status)
	assert.Equal(t, runs[1].ExecutionID, end.ContinuedAs)
	assert.Equal(t, []any{float64(1)}, end.Args)
	rr = e.mustWfctl("result", "counter", "--run", runs[0].ExecutionID)
	assert.Contains(t, rr.stdout, "continued as new as run "+runs[1].ExecutionID)
	rr = e.mustWfctl("result", "counter", "--run", runs[2].ExecutionID)
	assert.Equal(t, "2\n", rr.stdout)
	rr = e.wfctl("result", "counter", "--run", "no-such-run")
	assert.Equal(t, exitNotFound, rr.code, rr)
	rr = e.wfctl("result", "counter", "--run", runs[0].ExecutionID, "--wait", "1s")
	assert.Equal(t, exitUsage, rr.code, rr)
	path := filepath.Join(t.TempDir(), "counter.json")
	require.NoError(t, os.WriteFile(path, []byte(r.stdout), 0o600))
	rp := worker.NewReplayer(nil)
	require.NoError(t, rp.RegisterWorkflow(Counter))
	require.NoError(t, rp.ReplayFile(path))

	r = e.mustWfctl("history", "counter", "--all-runs")
	assert.Equal(t, 3, strings.Count(r.stdout, "instance counter, run "), r.stdout)
	assert.Equal(t, 2, strings.Count(r.stdout, "WorkflowContinuedAsNew"), r.stdout)

	r = e.mustWfctl("history", "counter", "--run", runs[0].ExecutionID, "--json")
	var first worker.HistoryFile
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &first), r)
	assert.Equal(t, runs[0].ExecutionID, first.ExecutionID)
}

// JSON reaches a struct by json tag, then by field name in any case; a
// key that names no field fails the run with an error naming the key and
// the type (it used to leave the field zero, silently).
func TestInputByJSONTagAndName(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()

	e.mustWfctl("start", "Pay", "--id", "pay-1", "--input", `{"amount": 5, "PAIDBY": "ann"}`)
	got, err := client.GetWorkflowResult[Payment](ctx, e.c, &workflow.Instance{InstanceID: "pay-1"}, waitTimeout)
	require.NoError(t, err)
	assert.Equal(t, Payment{Amount: 5, PaidBy: "ann"}, got)
	// The history shows the input as it was typed.
	r := e.mustWfctl("history", "pay-1")
	assert.Contains(t, r.stdout, `"PAIDBY":"ann"`, r)

	e.mustWfctl("start", "AwaitPayment", "--id", "pay-2")
	e.waitStarted("pay-2")
	e.mustWfctl("signal", "pay-2", "pay", "--input", `{"Amount": 7, "paidBy": "bob"}`)
	got, err = client.GetWorkflowResult[Payment](ctx, e.c, &workflow.Instance{InstanceID: "pay-2"}, waitTimeout)
	require.NoError(t, err)
	assert.Equal(t, Payment{Amount: 7, PaidBy: "bob"}, got)

	e.mustWfctl("start", "Pay", "--id", "pay-3", "--input", `{"amount": 5, "amuont": 6}`)
	r = e.wfctl("result", "pay-3", "--wait", "1m")
	assert.Equal(t, exitUnsuccessful, r.code, r)
	assert.Contains(t, r.stderr, `key "amuont" matches no field of main.Payment`)
}

// Signals sent with the same --signal-id are delivered once.
func TestSignalWithSignalID(t *testing.T) {
	e := newEnv(t)
	e.mustWfctl("start", "Stepper", "--id", "steps", "--input", "2")
	e.waitStarted("steps")
	e.mustWfctl("signal", "steps", "next", "--input", "1", "--signal-id", "first")
	e.mustWfctl("signal", "steps", "next", "--input", "1", "--signal-id", "first") // a retry: dropped
	e.mustWfctl("signal", "steps", "next", "--input", "5")
	r := e.mustWfctl("result", "steps", "--wait", "1m")
	assert.Equal(t, "12\n", r.stdout)
	r = e.wfctl("signal", "steps", "next", "--signal-id", "bad\nid")
	assert.NotEqual(t, 0, r.code, r)
	assert.Contains(t, r.stderr, "control character", r)
}
