package streams

import (
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// topology describes what New provisions, for comparing two runs.
func topology(t *testing.T, b *Backend) map[string]string {
	t.Helper()
	ctx := testContext(t)
	out := map[string]string{}
	for _, name := range []string{b.n.historyStream(), b.n.tasksStream(), b.n.activitiesStream(), b.n.deadStream(), "KV_" + b.n.registryBucket()} {
		s, err := b.js.Stream(ctx, name)
		require.NoError(t, err, "stream %s", name)
		cfg := s.CachedInfo().Config
		out[name] = cfg.Retention.String() + " " + cfg.Storage.String() + " " + cfg.Subjects[0]
		consumers := s.ListConsumers(ctx)
		for ci := range consumers.Info() {
			out[name+"/"+ci.Name] = ci.Config.FilterSubject + " " + ci.Config.AckPolicy.String()
		}
		require.NoError(t, consumers.Err())
	}
	return out
}

func TestNewProvisionsTopology(t *testing.T) {
	b := newBackend(t, WithNamespace("orders"))
	topo := topology(t, b)
	assert.Equal(t, map[string]string{
		"WF_orders_HISTORY":                "Limits File wfh.orders.>",
		"WF_orders_TASKS":                  "WorkQueue File wft.orders.>",
		"WF_orders_TASKS/wft_default":      "wft.orders.q.default.* AckExplicit",
		"WF_orders_ACTIVITIES":             "WorkQueue File wfa.orders.>",
		"WF_orders_ACTIVITIES/wfa_default": "wfa.orders.default AckExplicit",
		"WF_orders_DEAD":                   "Limits File wfd.orders.>",
		"KV_wf_orders_instances":           "Limits File $KV.wf_orders_instances.>",
	}, topo)

	s, err := b.js.Stream(testContext(t), "WF_orders_TASKS")
	require.NoError(t, err)
	assert.True(t, s.CachedInfo().Config.AllowMsgSchedules, "timers need message schedules on the task stream")
}

func TestNewIsIdempotent(t *testing.T) {
	srv := startServer(t)
	nc := connect(t, srv)
	first, err := New(nc)
	require.NoError(t, err)
	before := topology(t, first)

	second, err := New(nc)
	require.NoError(t, err)
	assert.Equal(t, before, topology(t, second))
}

func TestNewFromTwoConnectionsAtOnce(t *testing.T) {
	srv := startServer(t)
	const n = 4
	var wg sync.WaitGroup
	backends := make([]*Backend, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		nc := connect(t, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			backends[i], errs[i] = New(nc, WithNamespace("race"))
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		require.NoError(t, errs[i], "provisioning from connection %d", i)
	}
	want := topology(t, backends[0])
	for i := 1; i < n; i++ {
		assert.Equal(t, want, topology(t, backends[i]))
	}
}

func TestNewOptionErrors(t *testing.T) {
	nc := connect(t, startServer(t))
	tests := []struct {
		name    string
		opt     Option
		wantErr string
	}{
		{"bad namespace", WithNamespace("a.b"), "namespace"},
		{"empty namespace", WithNamespace(""), "namespace is empty"},
		{"zero replicas", WithReplicas(0), "replicas must be between 1 and 5"},
		{"six replicas", WithReplicas(6), "replicas must be between 1 and 5"},
		{"unknown storage", WithStorage(jetstream.StorageType(9)), "unknown storage"},
		{"nil logger", WithLogger(nil), "nil logger"},
		{"tiny duplicate window", WithDuplicateWindow(1), "shorter than a second"},
		{"tiny ack wait", WithAckWait(1), "shorter than 100ms"},
		{"zero request timeout", WithRequestTimeout(0), "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(nc, tt.opt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	_, err := New(nil)
	require.ErrorContains(t, err, "nil NATS connection")
}

func TestNamespacesAreSeparate(t *testing.T) {
	nc := connect(t, startServer(t))
	a, err := New(nc, WithNamespace("a"))
	require.NoError(t, err)
	bb, err := New(nc, WithNamespace("b"))
	require.NoError(t, err)
	ctx := testContext(t)
	_, err = a.CreateInstance(ctx, &InstanceRecord{InstanceID: "x", Status: StatusRunning})
	require.NoError(t, err)
	_, err = bb.GetInstance(ctx, "x")
	require.ErrorIs(t, err, ErrInstanceNotFound)
}

func TestOpenBindsWithoutCreating(t *testing.T) {
	srv := startServer(t)
	nc, err := srv.Connect()
	require.NoError(t, err)
	defer nc.Close()

	_, err = Open(nc, WithNamespace("typo"))
	require.ErrorIs(t, err, ErrNamespaceNotFound)
	assert.Contains(t, err.Error(), `namespace "typo"`)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	names := js.StreamNames(testContext(t))
	for range names.Name() {
		t.Error("Open created a stream")
	}

	made, err := New(nc, WithNamespace("orders"))
	require.NoError(t, err)
	opened, err := Open(nc, WithNamespace("orders"))
	require.NoError(t, err)
	assert.Equal(t, topology(t, made), topology(t, opened))
	ctx := testContext(t)
	_, err = opened.CreateInstance(ctx, &InstanceRecord{InstanceID: "i-1", WorkflowName: "W", Queue: DefaultQueue, ExecutionID: "r-1", Status: StatusRunning})
	require.NoError(t, err)
	rec, err := made.GetInstance(ctx, "i-1")
	require.NoError(t, err)
	assert.Equal(t, "W", rec.WorkflowName)
}

// TestProvisionRightAfterTheAccountEmptied creates a stream on an account
// whose last stream was just deleted, again and again: the server removes
// the account's empty folder in the background then, and a create racing
// that removal fails with "error creating store for stream". Without the
// retry in ensureStream this failed at round 30 under -race (as CI runs
// it) and at round 1,560 of 5,000 without.
func TestProvisionRightAfterTheAccountEmptied(t *testing.T) {
	nc := connect(t, startServer(t))
	b, err := New(nc, WithNamespace("emptied"))
	require.NoError(t, err)
	ctx := testContext(t)
	// Only the stream under test may live on the account.
	for name := range b.js.StreamNames(ctx).Name() {
		require.NoError(t, b.js.DeleteStream(ctx, name))
	}
	for i := range 1000 {
		cfg := jetstream.StreamConfig{Name: "EMPTIED", Subjects: []string{"emptied"}}
		_, err := b.ensureStream(ctx, cfg)
		require.NoError(t, err, "round %d", i)
		require.NoError(t, b.js.DeleteStream(ctx, cfg.Name), "round %d", i)
	}
}
