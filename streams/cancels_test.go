package streams

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestActivityCancelsReachSubscribers(t *testing.T) {
	b := newBackend(t, WithNamespace("cancels"))
	got := make(chan ActivityCancel, 4)
	unsubscribe, err := b.SubscribeActivityCancels(func(c ActivityCancel) { got <- c })
	require.NoError(t, err)
	defer unsubscribe()

	// A malformed subject is dropped; a cancel of another namespace is
	// not seen; a good one arrives with its instance ID decoded.
	require.NoError(t, b.nc.Publish("wfc.cancels.inst.run.notanumber", nil))
	require.NoError(t, b.nc.Publish("wfc.cancels.=%%%.run.1", nil))
	require.NoError(t, b.nc.Publish("wfc.other.inst.run.1", nil))
	want := ActivityCancel{InstanceID: "order 42/ä", ExecutionID: "run-1", ScheduleID: 7}
	require.NoError(t, b.PublishActivityCancel(want))
	select {
	case c := <-got:
		assert.Equal(t, want, c)
	case <-time.After(10 * time.Second):
		t.Fatal("no cancel arrived")
	}
	require.NoError(t, b.nc.Flush())
	assert.Empty(t, got, "only the good cancel arrives")

	assert.Error(t, b.PublishActivityCancel(ActivityCancel{InstanceID: "", ExecutionID: "r", ScheduleID: 1}))
	assert.Error(t, b.PublishActivityCancel(ActivityCancel{InstanceID: "i", ExecutionID: "a.b", ScheduleID: 1}))
}
