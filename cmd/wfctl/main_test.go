package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
)

// The CLI tests run the wfctl binary, built once, against one embedded
// server listening on loopback; each test works in a namespace of its own
// with a worker running in the test process.
var (
	wfctlBin string // the binary under test
	goBin    string // the go command, for building and for replay
	natsURL  string // the shared server
	testSrv  *embedded.Server
)

// Generous bounds: they only end a test that is stuck, so a slow machine
// never fails one.
const (
	commandTimeout = 2 * time.Minute
	replayTimeout  = 10 * time.Minute
	waitTimeout    = time.Minute
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if goBin, err = findGo(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "wfctl-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	wfctlBin = filepath.Join(dir, "wfctl")
	if out, err := exec.Command(goBin, "build", "-o", wfctlBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build wfctl: %v\n%s", err, out)
		return 1
	}
	return testenv.RunShared(m, func(s *embedded.Server) {
		testSrv = s
		natsURL = s.ClientURL()
	}, testenv.Loopback())
}

// findGo finds the go command: on PATH, or in $GOROOT.
func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go command is neither on PATH nor in $GOROOT")
}

// env is one test's namespace with a worker and a client.
type env struct {
	t  *testing.T
	ns string
	b  *streams.Backend
	c  *client.Client
}

// newEnv provisions a fresh namespace on the shared server and starts a
// worker with the test workflows (and whatever register adds).
func newEnv(t *testing.T, register ...func(w *worker.Worker)) *env {
	t.Helper()
	we := wftest.New(t, wftest.Options{
		Server:  testSrv,
		Prefix:  "cli",
		Streams: []streams.Option{streams.WithAckWait(5 * time.Second)},
		Worker: &worker.Options{
			PollWait:           200 * time.Millisecond,
			TaskRetryDelay:     50 * time.Millisecond,
			UnknownNameTimeout: 2 * time.Second,
		},
		Register: func(w *worker.Worker) {
			registerTestWorkflows(t, w)
			for _, r := range register {
				r(w)
			}
		},
	})
	return &env{t: t, ns: we.Backend.Namespace(), b: we.Backend, c: we.Client}
}

// ctx is a context for the test's own calls.
func (e *env) ctx() context.Context { return testenv.Context(e.t, waitTimeout) }

// result is how a wfctl run ended.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// wfctl runs the binary against the env's namespace.
func (e *env) wfctl(args ...string) result {
	e.t.Helper()
	return runWfctl(e.t, commandTimeout, append([]string{"--server", natsURL, "--namespace", e.ns}, args...)...)
}

// mustWfctl runs the binary and fails the test unless it exits 0.
func (e *env) mustWfctl(args ...string) result {
	e.t.Helper()
	r := e.wfctl(args...)
	require.Equal(e.t, 0, r.code, "wfctl %s\n%s", strings.Join(args, " "), r)
	return r
}

// runWfctl runs the binary with args and no NATS_URL or JETFLOW_NAMESPACE
// in its environment.
func runWfctl(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, wfctlBin, args...)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run wfctl %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wfctl %s did not end within %s", strings.Join(args, " "), timeout)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// cleanEnv is the test process's environment without the variables wfctl
// reads its defaults from.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NATS_URL=") || strings.HasPrefix(kv, "JETFLOW_NAMESPACE=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// process is a wfctl running in the background whose output lines the
// test reads as they come.
type process struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string // closed when the process has closed its stdout

	mu     sync.Mutex
	stderr bytes.Buffer
	seen   []string
	waited bool
}

// startWfctl starts the binary in the background.
func startWfctl(t *testing.T, args ...string) *process {
	t.Helper()
	return startWfctlEnv(t, nil, args...)
}

// startWfctlEnv starts the binary in the background with env added to its
// environment.
func startWfctlEnv(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(wfctlBin, args...)
	cmd.Env = append(cleanEnv(), env...)
	// A pipe of our own rather than StdoutPipe: Wait closes that one,
	// possibly before the last lines are read.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	p := &process{t: t, cmd: cmd, lines: make(chan string, 1024)}
	cmd.Stdout = w
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("start wfctl: %v", err)
	}
	go func() {
		defer close(p.lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		waited := p.waited
		p.mu.Unlock()
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return p
}

// signal sends sig to the process.
func (p *process) signal(sig os.Signal) {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
}

// waitLine reads output lines until one contains s, and returns it.
func (p *process) waitLine(s string) string {
	p.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("wfctl ended without printing %q; it printed:\n%s\nstderr:\n%s", s, p.output(), p.errOutput())
			}
			p.record(line)
			if strings.Contains(line, s) {
				return line
			}
		case <-deadline.C:
			p.t.Fatalf("wfctl did not print %q within %s; it printed:\n%s\nstderr:\n%s", s, waitTimeout, p.output(), p.errOutput())
		}
	}
}

// wait reads the rest of the output until the process closes it, waits for
// the process to end and returns its exit code.
func (p *process) wait() int {
	p.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for open := true; open; {
		select {
		case line, ok := <-p.lines:
			if ok {
				p.record(line)
			}
			open = ok
		case <-deadline.C:
			p.t.Fatalf("wfctl did not end within %s; it printed:\n%s\nstderr:\n%s", waitTimeout, p.output(), p.errOutput())
		}
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.waited = true
	p.mu.Unlock()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		p.t.Fatalf("wait for wfctl: %v", err)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *process) record(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, line)
}

// output is what the process printed on stdout so far (as read).
func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.seen, "\n")
}

func (p *process) errOutput() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// lockedWriter serialises writes to a buffer read concurrently.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, waitTimeout, what, cond)
}
