package worker

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/streams"
)

func TestActivityCancels(t *testing.T) {
	c := newActivityCancels()
	key := func(id int64) streams.ActivityCancel {
		return streams.ActivityCancel{InstanceID: "i", ExecutionID: "r", ScheduleID: id}
	}

	// A running activity's context is canceled with the workflow's cause.
	ctx, stop := context.WithCancelCause(context.Background())
	ended, ok := c.start(key(1), stop)
	require.True(t, ok)
	c.cancel(key(2)) // another activity: no effect on this one
	require.NoError(t, ctx.Err())
	c.cancel(key(1))
	require.Error(t, ctx.Err())
	assert.True(t, errors.Is(context.Cause(ctx), actrun.ErrCanceledByWorkflow))
	ended()

	// A canceled activity does not start again (a retry, or a task that
	// was still queued); others do.
	_, ok = c.start(key(1), func(error) {})
	assert.False(t, ok)
	_, ok = c.start(key(2), func(error) {})
	assert.False(t, ok)
	_, ok = c.start(key(3), func(error) {})
	assert.True(t, ok)
}

func TestActivityCancelsMemoryIsBounded(t *testing.T) {
	c := newActivityCancels()
	for i := range int64(canceledMemory + 10) {
		c.cancel(streams.ActivityCancel{InstanceID: "i", ExecutionID: "r", ScheduleID: i + 1})
		c.cancel(streams.ActivityCancel{InstanceID: "i", ExecutionID: "r", ScheduleID: i + 1}) // twice: counted once
	}
	assert.Len(t, c.canceled, canceledMemory)
	assert.Len(t, c.order, canceledMemory)
	_, ok := c.start(streams.ActivityCancel{InstanceID: "i", ExecutionID: "r", ScheduleID: 1}, func(error) {})
	assert.True(t, ok, "the oldest cancel was forgotten")
}

func TestForwardedInboxID(t *testing.T) {
	tests := []struct{ run, in, want string }{
		{"r2", "sig:abc", "fwd:r2|sig:abc"},
		{"r3", "fwd:r2|sig:abc", "fwd:r3|sig:abc"}, // a chain stays short
		{"r3", "sig:i:r1:7", "fwd:r3|sig:i:r1:7"},  // from a workflow
		{"r3", "fwd:odd", "fwd:r3|fwd:odd"},        // not ours: kept whole
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, streams.ForwardedInboxID(tt.run, tt.in), tt.in)
	}
}
