// Package coro runs workflow code as coroutines: real goroutines of which
// exactly one runs at a time. A coroutine runs until it calls Block with a
// condition that does not hold yet; control then returns to the scheduler,
// which resumes the next coroutine whose condition holds. Because switches
// happen only at Block, in an order fixed by the order coroutines were
// spawned, a run is a pure function of what the scheduler's caller does
// between runs.
//
// A Scheduler is driven from one goroutine (the executor's); coroutines hand
// control back and forth with it through channels, which also gives the race
// detector the happens-before edges it needs.
package coro

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"
)

// ErrNotInCoroutine is the panic value of Block called outside a coroutine:
// from a query handler, a goroutine started with the go statement, or after
// the scheduler was closed.
var ErrNotInCoroutine = errors.New("workflow: blocking workflow call outside workflow code (a query handler, or a goroutine started with the go statement instead of workflow.Go?)")

// ErrClosed is returned by RunUntilBlocked after Close.
var ErrClosed = errors.New("coro: scheduler closed")

// Panic reports a coroutine that panicked (or called runtime.Goexit).
type Panic struct {
	// Coroutine is the name the coroutine was spawned with.
	Coroutine string
	// Value is the value passed to panic.
	Value any
	// Stack is the coroutine's stack at the panic.
	Stack string
}

// Error names the coroutine and the panic value.
func (p *Panic) Error() string {
	return fmt.Sprintf("panic in workflow coroutine %q: %v", p.Coroutine, p.Value)
}

// BlockedError reports a coroutine that did not give control back within the
// scheduler's timeout: workflow code blocked on something the scheduler does
// not know about (a Go channel, a mutex, time.Sleep, I/O) or spun in a loop.
type BlockedError struct {
	// Coroutine is the name the coroutine was spawned with.
	Coroutine string
	// Timeout is how long the scheduler waited.
	Timeout time.Duration
	// Stack is the stuck goroutine's stack when the timeout expired.
	Stack string
}

// Error explains what blocked and shows the stuck goroutine's stack.
func (e *BlockedError) Error() string {
	msg := fmt.Sprintf("workflow code in coroutine %q blocked for more than %v outside the workflow API "+
		"(a Go channel, sync.Mutex, time.Sleep, network or file I/O, or a busy loop?); "+
		"use workflow.Channel, workflow.Sleep and activities instead", e.Coroutine, e.Timeout)
	if e.Stack != "" {
		msg += "\n" + e.Stack
	}
	return msg
}

// Scheduler owns a set of coroutines and runs them one at a time.
// Its methods other than Block must be called from the goroutine that drives
// it; Block must be called from a running coroutine.
//
// The fields a coroutine reads or writes are atomic: a coroutine reported
// blocked keeps running unsynchronised with the driver, and must not race
// with it when it comes back to the workflow API. The state the workflow
// API keeps outside the scheduler is guarded the same way with Enter and
// Leave.
type Scheduler struct {
	cos      []*coroutine
	current  atomic.Pointer[coroutine]
	timeout  time.Duration
	timer    *time.Timer
	halted   atomic.Bool
	aborting atomic.Bool
	// abandoned is set when a coroutine was reported blocked: from then
	// on nothing may Enter. entered counts the callers between Enter and
	// Leave; the driver waits for it to drop to 0 after setting
	// abandoned, so what a blocked coroutine did inside happens before
	// whatever the driver does next, and nothing it does later reaches
	// the run.
	abandoned atomic.Bool
	entered   atomic.Int32
	closed    chan struct{}
	isClosed  bool
	err       error
}

type coroutine struct {
	s       *Scheduler
	name    string
	fn      func()
	resume  chan struct{}
	yield   chan struct{}
	cond    func() bool
	started bool
	done    bool
	stuck   bool
	gid     atomic.Uint64
	panic   *Panic
}

// New returns a scheduler that reports a coroutine holding control for
// longer than blockedTimeout as a *BlockedError. A timeout <= 0 disables
// the check (useful under a debugger).
func New(blockedTimeout time.Duration) *Scheduler {
	s := &Scheduler{timeout: blockedTimeout, closed: make(chan struct{})}
	if blockedTimeout > 0 {
		s.timer = time.NewTimer(time.Hour)
		s.timer.Stop()
	}
	return s
}

// Spawn adds a coroutine that will run fn. It starts the next time
// RunUntilBlocked reaches it; coroutines run in the order they were spawned.
// Spawn may be called from the driving goroutine or from a coroutine.
func (s *Scheduler) Spawn(name string, fn func()) {
	if s.aborting.Load() || s.isClosed {
		return
	}
	s.cos = append(s.cos, &coroutine{
		s:      s,
		name:   name,
		fn:     fn,
		resume: make(chan struct{}),
		yield:  make(chan struct{}),
	})
}

// Running reports whether a coroutine is running now (i.e. the caller is
// workflow code).
func (s *Scheduler) Running() bool { return s.current.Load() != nil }

// Halt makes RunUntilBlocked return once the running coroutine blocks or
// ends, and never run anything again. The executor halts when the workflow's
// main function returned or the run cannot go on.
func (s *Scheduler) Halt() { s.halted.Store(true) }

// Halted reports whether Halt was called.
func (s *Scheduler) Halted() bool { return s.halted.Load() }

// Enter starts a call of workflow code into the state the run keeps
// outside the scheduler (the executor's), which the driver also reads and
// writes; Leave ends it. It returns false, and the caller must then leave
// that state alone and not call Leave, once the scheduler reported a
// coroutine blocked (that coroutine runs on unsynchronised with the driver)
// or Close began. The code between Enter and Leave must be short: it must
// not run user code, block or call Block, since the driver waits for it
// when it reports a coroutine blocked. Enter and Leave may nest.
func (s *Scheduler) Enter() bool {
	s.entered.Add(1)
	if s.abandoned.Load() || s.aborting.Load() {
		s.entered.Add(-1)
		return false
	}
	return true
}

// Leave ends what Enter started.
func (s *Scheduler) Leave() { s.entered.Add(-1) }

// Block gives control back to the scheduler until cond holds. It returns at
// once if cond already holds. It must be called from a running coroutine.
// cond is evaluated by the scheduler while no coroutine runs.
//
// A coroutine that was reported blocked and comes back to Block is parked
// for good (it ends when the scheduler is closed): the run went on without
// it.
func (s *Scheduler) Block(cond func() bool) {
	c := s.current.Load()
	if !s.Enter() {
		if !s.aborting.Load() {
			// The coroutine reported blocked: nothing else runs on an
			// abandoned scheduler until Close.
			<-s.closed
		}
		// Close is ending this coroutine and a deferred call wants to
		// wait, or Close has ended.
		runtime.Goexit()
	}
	held := cond()
	s.Leave()
	if held {
		return
	}
	if c == nil {
		panic(ErrNotInCoroutine)
	}
	c.cond = cond
	c.park()
}

// BlockForever parks the running coroutine for good: nothing it does after
// this point may reach the run. Used when the run cannot go on (a
// non-determinism was detected inside workflow code).
func (s *Scheduler) BlockForever() {
	s.Block(func() bool { return false })
}

func (c *coroutine) park() {
	select {
	case c.yield <- struct{}{}:
	case <-c.s.closed:
		runtime.Goexit()
	}
	select {
	case <-c.resume:
	case <-c.s.closed:
		runtime.Goexit()
	}
	if c.s.aborting.Load() {
		runtime.Goexit()
	}
}

func (c *coroutine) run() {
	c.gid.Store(currentGoroutineID())
	returned := false
	defer func() {
		if !returned {
			if r := recover(); r != nil {
				c.panic = &Panic{Coroutine: c.name, Value: r, Stack: string(debug.Stack())}
			} else if !c.s.aborting.Load() {
				c.panic = &Panic{Coroutine: c.name, Value: "runtime.Goexit called in workflow code", Stack: string(debug.Stack())}
			}
		}
		c.done = true
		select {
		case c.yield <- struct{}{}:
		case <-c.s.closed:
		}
	}()
	c.fn()
	returned = true
}

// RunUntilBlocked runs coroutines until every one is blocked on a condition
// that does not hold, has ended, or Halt was called. It returns a *Panic if a
// coroutine panicked and a *BlockedError if one held control too long; after
// either the scheduler is broken and returns the same error again.
func (s *Scheduler) RunUntilBlocked() error {
	if s.isClosed {
		return ErrClosed
	}
	if s.err != nil {
		return s.err
	}
	for !s.halted.Load() {
		progressed := false
		for i := 0; i < len(s.cos) && !s.halted.Load(); i++ {
			c := s.cos[i]
			if c.done || (c.started && !c.cond()) {
				continue
			}
			if err := s.step(c); err != nil {
				s.err = err
				return err
			}
			progressed = true
		}
		s.compact()
		if !progressed {
			break
		}
	}
	return nil
}

// step resumes c and waits until it blocks or ends.
func (s *Scheduler) step(c *coroutine) error {
	s.current.Store(c)
	c.cond = nil
	if !c.started {
		c.started = true
		go c.run()
	} else {
		c.resume <- struct{}{}
	}
	if err := s.wait(c); err != nil {
		return err
	}
	s.current.Store(nil)
	if c.panic != nil {
		return c.panic
	}
	return nil
}

func (s *Scheduler) wait(c *coroutine) error {
	if s.timer == nil {
		<-c.yield
		return nil
	}
	s.timer.Reset(s.timeout)
	select {
	case <-c.yield:
		s.timer.Stop()
		return nil
	case <-s.timer.C:
		c.stuck = true
		s.current.Store(nil)
		s.abandoned.Store(true)
		// The coroutine may be inside Enter/Leave, which is short: let
		// it finish there before the driver touches the run again.
		for s.entered.Load() != 0 {
			runtime.Gosched()
		}
		return &BlockedError{Coroutine: c.name, Timeout: s.timeout, Stack: goroutineStack(c.gid.Load())}
	}
}

func (s *Scheduler) compact() {
	n := 0
	for _, c := range s.cos {
		if !c.done {
			s.cos[n] = c
			n++
		}
	}
	clear(s.cos[n:])
	s.cos = s.cos[:n]
}

// Close ends every parked coroutine (running its deferred calls, in which
// Block ends the coroutine at once) one at a time, and releases any
// coroutine that was reported blocked as soon as it reaches the workflow API
// again. Close is idempotent.
func (s *Scheduler) Close() {
	if s.isClosed {
		return
	}
	s.aborting.Store(true)
	for s.entered.Load() != 0 {
		// A coroutine reported blocked is inside Enter/Leave.
		runtime.Gosched()
	}
	for _, c := range s.cos {
		if c.stuck || !c.started || c.done {
			continue
		}
		s.current.Store(c)
		c.resume <- struct{}{}
		if err := s.wait(c); err != nil {
			// A deferred call blocked outside the workflow API; leave it.
			continue
		}
	}
	s.current.Store(nil)
	s.cos = nil
	s.isClosed = true
	close(s.closed)
}

func currentGoroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	// "goroutine 123 [running]:..."
	const prefix = "goroutine "
	if len(b) < len(prefix) {
		return 0
	}
	b = b[len(prefix):]
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	id, _ := strconv.ParseUint(string(b[:i]), 10, 64)
	return id
}

// goroutineStack returns the stack of goroutine gid, or "" if it is gone.
func goroutineStack(gid uint64) string {
	if gid == 0 {
		return ""
	}
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	head := []byte("goroutine " + strconv.FormatUint(gid, 10) + " [")
	for len(buf) > 0 {
		end := indexDoubleNewline(buf)
		block := buf
		if end >= 0 {
			block, buf = buf[:end], buf[end+2:]
		} else {
			buf = nil
		}
		if len(block) >= len(head) && string(block[:len(head)]) == string(head) {
			return string(block)
		}
	}
	return ""
}

func indexDoubleNewline(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\n' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}
