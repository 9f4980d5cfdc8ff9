package workflow_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// trace collects what workflow code did, in order.
type trace []string

func (t *trace) add(s string) { *t = append(*t, s) }

func TestChannel(t *testing.T) {
	tests := []struct {
		name string
		wf   func(ctx workflow.Context) ([]string, error)
		want []string
	}{
		{
			name: "unbuffered send waits for the receiver",
			wf: func(ctx workflow.Context) ([]string, error) {
				var tr trace
				c := workflow.NewChannel[int](ctx)
				workflow.Go(ctx, func(ctx workflow.Context) {
					tr.add("send 1")
					c.Send(ctx, 1)
					tr.add("sent 1")
					c.Send(ctx, 2)
					tr.add("sent 2")
				})
				tr.add("receive")
				v, ok := c.Receive(ctx)
				tr.add(fmtRecv(v, ok))
				v, ok = c.Receive(ctx)
				tr.add(fmtRecv(v, ok))
				return tr, nil
			},
			// The main coroutine waits first; the sender hands 1 over and
			// goes on until its second Send waits for a receiver.
			want: []string{"receive", "send 1", "sent 1", "got 1 true", "got 2 true"},
		},
		{
			name: "buffered channel holds values until full",
			wf: func(ctx workflow.Context) ([]string, error) {
				var tr trace
				c := workflow.NewBufferedChannel[int](ctx, 2)
				workflow.Go(ctx, func(ctx workflow.Context) {
					for i := 1; i <= 4; i++ {
						c.Send(ctx, i)
						tr.add("sent " + itoa(i))
					}
					c.Close()
				})
				tr.add("main")
				for {
					v, ok := c.Receive(ctx)
					tr.add(fmtRecv(v, ok))
					if !ok {
						return tr, nil
					}
				}
			},
			// main waits first, so 1 is handed to it; 2 and 3 fill the
			// buffer and Send(4) waits until main makes room.
			want: []string{"main", "sent 1", "sent 2", "sent 3", "got 1 true", "got 2 true", "got 3 true", "got 4 true", "sent 4", "got 0 false"},
		},
		{
			name: "non-blocking variants",
			wf: func(ctx workflow.Context) ([]string, error) {
				var tr trace
				u := workflow.NewChannel[int](ctx)
				tr.add("send unbuffered without receiver: " + btoa(u.SendNonBlocking(1)))
				_, ok := u.ReceiveNonBlocking()
				tr.add("receive empty: " + btoa(ok))
				b := workflow.NewBufferedChannel[int](ctx, 1)
				tr.add("send buffered: " + btoa(b.SendNonBlocking(7)))
				tr.add("send full: " + btoa(b.SendNonBlocking(8)))
				v, ok := b.ReceiveNonBlocking()
				tr.add(fmtRecv(v, ok))
				// A receiver waiting in another coroutine takes a
				// non-blocking send on an unbuffered channel.
				wg := workflow.NewWaitGroup(ctx)
				wg.Add(2)
				workflow.Go(ctx, func(ctx workflow.Context) {
					defer wg.Done()
					v, ok := u.Receive(ctx)
					tr.add("goroutine " + fmtRecv(v, ok))
				})
				workflow.Go(ctx, func(ctx workflow.Context) {
					defer wg.Done()
					tr.add("send to waiting receiver: " + btoa(u.SendNonBlocking(9)))
				})
				wg.Wait(ctx)
				b.Close()
				v, ok = b.ReceiveNonBlocking()
				tr.add("closed " + fmtRecv(v, ok))
				return tr, nil
			},
			want: []string{
				"send unbuffered without receiver: false", "receive empty: false",
				"send buffered: true", "send full: false", "got 7 true",
				"send to waiting receiver: true", "goroutine got 9 true", "closed got 0 false",
			},
		},
		{
			name: "close wakes every waiting receiver",
			wf: func(ctx workflow.Context) ([]string, error) {
				var tr trace
				c := workflow.NewChannel[string](ctx)
				wg := workflow.NewWaitGroup(ctx)
				for i := range 3 {
					wg.Add(1)
					workflow.Go(ctx, func(ctx workflow.Context) {
						defer wg.Done()
						v, ok := c.Receive(ctx)
						tr.add(itoa(i) + ":" + v + btoa(ok))
					})
				}
				workflow.Go(ctx, func(ctx workflow.Context) { c.Send(ctx, "x") })
				workflow.Go(ctx, func(ctx workflow.Context) { c.Close() })
				wg.Wait(ctx)
				return tr, nil
			},
			want: []string{"0:xtrue", "1:false", "2:false"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.Start(t, tt.wf)
			assert.Equal(t, tt.want, enginetest.Result[[]string](r))
			r.ReplayCheck()
		})
	}
}

func TestChannelSendOnClosedFailsTheWorkflow(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) error {
		c := workflow.NewBufferedChannel[int](ctx, 1)
		c.Close()
		c.Send(ctx, 1)
		return nil
	})
	final := r.Final()
	require.Equal(t, history.WorkflowFailed, final.Kind)
	assert.Equal(t, "PanicError", final.Failure.Type)
	assert.Equal(t, "workflow: send on closed channel", final.Failure.Message)
}

func fmtRecv(v int, ok bool) string { return "got " + itoa(v) + " " + btoa(ok) }

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Receive returns zero and false when its context is canceled while it
// waits; the value sent afterwards is not lost to the receiver that left,
// and a ready value is still taken from a canceled context.
func TestChannelReceiveCanceled(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		c := workflow.NewBufferedChannel[int](ctx, 1)
		cctx, cancel := workflow.WithCancel(ctx)
		workflow.Go(ctx, func(ctx workflow.Context) {
			cancel()
			c.Send(ctx, 7)
		})
		v, ok := c.Receive(cctx)
		tr.add(fmtRecv(v, ok) + " " + cctx.Err().Error())
		v, ok = c.Receive(cctx) // ready: taken although cctx is canceled
		tr.add(fmtRecv(v, ok))
		v, ok = c.Receive(cctx) // nothing ready: returns at once
		tr.add(fmtRecv(v, ok))
		return tr, nil
	})
	assert.Equal(t, []string{"got 0 false canceled", "got 7 true", "got 0 false"}, enginetest.Result[[]string](r))
	r.ReplayCheck()
}
