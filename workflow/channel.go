package workflow

import (
	"github.com/jetflow/jetflow/internal/coro"
)

// Channel is the workflow counterpart of a Go channel: Send and Receive
// switch between workflow coroutines deterministically. Make one with
// NewChannel or NewBufferedChannel; signals arrive on one made by
// NewSignalChannel. Like a Go channel, sending on a closed channel panics
// and receiving from a closed, drained channel returns the zero value and
// false.
type Channel[T any] interface {
	// Send sends v, blocking until a receiver takes it (or, for a
	// buffered channel, until there is room).
	Send(ctx Context, v T)
	// SendNonBlocking sends v only if that needs no waiting, and reports
	// whether it did.
	SendNonBlocking(v T) bool
	// Receive waits for a value; ok is false when the channel is closed
	// and drained, or when ctx is canceled before a value comes (then
	// ctx.Err() is Canceled, which tells the two apart). A value that is
	// ready is taken even from a canceled ctx, so a canceled workflow can
	// still drain what has arrived; a wait on a canceled ctx returns at
	// once. Under a disconnected context Receive waits regardless.
	Receive(ctx Context) (v T, ok bool)
	// ReceiveNonBlocking takes a value if one is ready; ok is false when
	// none is (including when the channel is closed and drained).
	ReceiveNonBlocking() (v T, ok bool)
	// Close closes the channel: waiting and later receivers get the zero
	// value and false once buffered values are drained.
	Close()

	impl() *channel[T]
}

// NewChannel returns an unbuffered channel.
func NewChannel[T any](ctx Context) Channel[T] {
	return newChannel[T](envOf(ctx).Scheduler(), 0)
}

// NewBufferedChannel returns a channel that holds up to size values before
// Send blocks.
func NewBufferedChannel[T any](ctx Context, size int) Channel[T] {
	if size < 0 {
		panic("workflow.NewBufferedChannel: negative size")
	}
	return newChannel[T](envOf(ctx).Scheduler(), size)
}

// unbounded is the capacity of a channel that never blocks a sender
// (signal channels: signals must never be lost).
const unbounded = -1

type channel[T any] struct {
	sched     *coro.Scheduler
	capacity  int
	buf       queue[T]
	closed    bool
	senders   queue[*waitingSender[T]]
	receivers queue[*waitingReceiver[T]]
}

type waitingSender[T any] struct {
	v      T
	done   bool
	closed bool
}

// waitingReceiver is a blocked Receive, or a Receive case of a blocked
// Select (sel set).
type waitingReceiver[T any] struct {
	sel  *selectState
	idx  int
	v    T
	ok   bool
	done bool
}

func newChannel[T any](sched *coro.Scheduler, capacity int) *channel[T] {
	return &channel[T]{sched: sched, capacity: capacity}
}

func (c *channel[T]) impl() *channel[T] { return c }

// ready reports whether a receive would not block.
func (c *channel[T]) ready() bool {
	return c.buf.len() > 0 || c.senders.len() > 0 || c.closed
}

func (c *channel[T]) tryReceive() (v T, ok, got bool) {
	if c.buf.len() > 0 {
		v = c.buf.pop()
		if c.senders.len() > 0 {
			s := c.senders.pop()
			c.buf.push(s.v)
			s.done = true
		}
		return v, true, true
	}
	if c.senders.len() > 0 {
		s := c.senders.pop()
		s.done = true
		return s.v, true, true
	}
	if c.closed {
		return v, false, true
	}
	return v, false, false
}

// deliver hands v to the first live waiting receiver, if any.
func (c *channel[T]) deliver(v T, ok bool) bool {
	for c.receivers.len() > 0 {
		r := c.receivers.pop()
		if r.sel != nil {
			if r.sel.fired >= 0 {
				continue // its Select already took another case
			}
			r.sel.fired = r.idx
		}
		r.v, r.ok, r.done = v, ok, true
		return true
	}
	return false
}

func (c *channel[T]) trySend(v T) bool {
	if c.closed {
		panic("workflow: send on closed channel")
	}
	if c.deliver(v, true) {
		return true
	}
	if c.capacity == unbounded || c.buf.len() < c.capacity {
		c.buf.push(v)
		return true
	}
	return false
}

func (c *channel[T]) Send(_ Context, v T) {
	if c.trySend(v) {
		return
	}
	s := &waitingSender[T]{v: v}
	c.senders.push(s)
	c.sched.Block(func() bool { return s.done || s.closed })
	if s.closed {
		panic("workflow: send on closed channel")
	}
}

func (c *channel[T]) SendNonBlocking(v T) bool { return c.trySend(v) }

func (c *channel[T]) Receive(ctx Context) (T, bool) {
	if v, ok, got := c.tryReceive(); got {
		return v, ok
	}
	var zero T
	wc := ctx.impl()
	if wc.Err() != nil {
		return zero, false
	}
	r := &waitingReceiver[T]{}
	c.receivers.push(r)
	// A cancel ends the wait: the receiver leaves the queue, so no value
	// is handed to it (and lost) afterwards.
	stop := wc.onCancel(func() {
		if r.done {
			return
		}
		c.receivers.removeFunc(func(w *waitingReceiver[T]) bool { return w == r })
		r.v, r.ok, r.done = zero, false, true
	})
	c.sched.Block(func() bool { return r.done })
	stop()
	return r.v, r.ok
}

func (c *channel[T]) ReceiveNonBlocking() (T, bool) {
	v, ok, _ := c.tryReceive()
	return v, ok
}

func (c *channel[T]) Close() {
	if c.closed {
		panic("workflow: close of closed channel")
	}
	c.closed = true
	var zero T
	for c.deliver(zero, false) {
	}
	for c.senders.len() > 0 {
		c.senders.pop().closed = true
	}
}

// removeReceiver forgets the waiting receivers of a Select.
func (c *channel[T]) removeReceiver(sel *selectState) {
	c.receivers.removeFunc(func(r *waitingReceiver[T]) bool { return r.sel == sel })
}
