package faults

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a child process of the test (a worker or a cluster node) that
// prints "ready" on stdout once it is.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *tailBuffer
	exited chan struct{}
}

// spawn starts bin and waits until it prints "ready". The process is
// killed at the end of the test, and its output logged if the test failed.
func spawn(t *testing.T, bin string, args []string, name string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	out := &tailBuffer{max: 64 << 10}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: out, exited: make(chan struct{})}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- output of process %s (pid %d) ---\n%s", p.name, p.cmd.Process.Pid, p.out.String())
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signaled := false
		for sc.Scan() {
			if sc.Text() == "ready" && !signaled {
				signaled = true
				close(ready)
				continue
			}
			fmt.Fprintln(out, sc.Text())
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(p.exited)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before it was ready: %v\n%s", name, cmd.ProcessState, out.String())
	case <-time.After(90 * time.Second):
		p.kill()
		return nil, fmt.Errorf("%s not ready after 90s:\n%s", name, out.String())
	}
}

// kill ends the process with SIGKILL (no chance to clean up) and waits
// until it is gone.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop ends the process with SIGTERM (a graceful shutdown) and waits
// until it is gone; after within it is SIGKILLed and stop reports that.
func (p *proc) stop(within time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(within):
		p.kill()
		return fmt.Errorf("stop %s: still running %s after SIGTERM; SIGKILLed", p.name, within)
	}
}

// alive reports whether the process still runs.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// workerConfig is what a worker process needs to join a test's namespace.
type workerConfig struct {
	url      string
	ns       string
	logDir   string
	ackWait  time.Duration
	replicas int
	noCache  bool
	// reqTimeout is the worker's JetStream request timeout (0: default).
	reqTimeout time.Duration
	// unknownTimeout is the worker's UnknownNameTimeout (0: default).
	unknownTimeout time.Duration
	// spans, when set, is the file the worker appends its spans to
	// (testworker -spans).
	spans string
	// crashAt, when set, is the crash point (internal/crashpoint) at
	// which the worker SIGKILLs itself the first time it gets there.
	crashAt string
	// queue, when set, is the one queue the worker serves (schedule fires
	// it takes whatever its queues).
	queue string
}

// onQueue makes a worker process serve queue q only.
func onQueue(q string) func(*workerConfig) {
	return func(c *workerConfig) { c.queue = q }
}

// crashAt makes a worker process SIGKILL itself at point.
func crashAt(point string) func(*workerConfig) {
	return func(c *workerConfig) { c.crashAt = point }
}

// noCache makes a worker process replay every task (no executor cache).
func noCache(c *workerConfig) { c.noCache = true }

// procSet starts a test's worker processes (testworker) by name; each
// start of the same name is a new process, named name.1, name.2, ...
type procSet struct {
	t   *testing.T
	cfg workerConfig

	mu    sync.Mutex
	count map[string]int
}

func newProcSet(t *testing.T, cfg workerConfig) *procSet {
	return &procSet{t: t, cfg: cfg, count: map[string]int{}}
}

// start runs a worker process and waits until it polls its queues.
func (ps *procSet) start(name string, opts ...func(*workerConfig)) *proc {
	ps.t.Helper()
	cfg := ps.cfg
	for _, o := range opts {
		o(&cfg)
	}
	ps.mu.Lock()
	ps.count[name]++
	full := name + "." + strconv.Itoa(ps.count[name])
	ps.mu.Unlock()
	args := []string{
		"-url", cfg.url,
		"-ns", cfg.ns,
		"-name", full,
		"-logdir", cfg.logDir,
		"-ackwait", cfg.ackWait.String(),
		"-replicas", strconv.Itoa(max(cfg.replicas, 1)),
	}
	// FAULTS_WORKER_NOCACHE=1 turns the executor cache off in every worker
	// process, to look past a cache bug at everything else.
	if cfg.noCache || os.Getenv("FAULTS_WORKER_NOCACHE") != "" {
		args = append(args, "-nocache")
	}
	if cfg.reqTimeout > 0 {
		args = append(args, "-reqtimeout", cfg.reqTimeout.String())
	}
	if cfg.unknownTimeout > 0 {
		args = append(args, "-unknowntimeout", cfg.unknownTimeout.String())
	}
	if cfg.spans != "" {
		args = append(args, "-spans", cfg.spans)
	}
	if cfg.queue != "" {
		args = append(args, "-queue", cfg.queue)
	}
	if cfg.crashAt != "" {
		args = append(args, "-crashat", cfg.crashAt)
	}
	if lvl := os.Getenv("FAULTS_WORKER_LOG"); lvl != "" {
		args = append(args, "-log", lvl)
	}
	p, err := spawn(ps.t, workerBin, args, "worker "+full)
	if err != nil {
		ps.t.Fatal(err)
	}
	return p
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
