package client

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/rounds"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

// clusterRounds is how many instances each cluster test starts and at once
// reads back, clusterParallel at a time, through each follower; fewer
// under the race detector, which slows them tenfold.
func clusterRounds() int {
	if raceDetector {
		return 80
	}
	return 200
}

// clusterParallel is how many rounds run at once through each follower.
const clusterParallel = 16

// clusterClients starts a 3-node cluster, provisions an R3 namespace on
// it, and returns a backend on the leader of the registry's stream and a
// client on each other node: their direct gets are answered by a replica
// that follows.
func clusterClients(t *testing.T) (*streams.Backend, []*Client) {
	t.Helper()
	c, err := embedded.StartCluster(3, embedded.ClusterOptions{})
	require.NoError(t, err)
	t.Cleanup(c.Shutdown)
	nc, err := c.Connect()
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	ns := testenv.UniqueName("cluster")
	b, err := streams.New(nc, streams.WithNamespace(ns), streams.WithReplicas(3), streams.WithRequestTimeout(10*time.Second))
	require.NoError(t, err)
	ctx := testenv.Context(t, 30*time.Second)
	s, err := b.JetStream().Stream(ctx, "KV_wf_"+ns+"_instances")
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.NotNil(t, info.Cluster)
	leader := c.NodeIndex(info.Cluster.Leader)
	require.GreaterOrEqual(t, leader, 0, "leader %q", info.Cluster.Leader)

	lnc, err := nats.Connect(c.NodeURL(leader))
	require.NoError(t, err)
	t.Cleanup(lnc.Close)
	lb, err := streams.Open(lnc, streams.WithNamespace(ns), streams.WithRequestTimeout(10*time.Second))
	require.NoError(t, err)
	// One start before anything runs in parallel: nats-server 2.15.2
	// sets up a stream leader's state for expected-sequence checks on
	// the first such write without a lock its apply loop reads under, and
	// a first write in parallel with others can trip the race detector
	// inside the server.
	_, err = NewWithOptions(lb, nil).CreateWorkflowInstance(ctx, WorkflowInstanceOptions{InstanceID: "warm-up"}, Nothing)
	require.NoError(t, err)

	// Writes of other keys keep the registry's replicas busy, as a
	// namespace in use keeps them: a follower then applies a write a
	// little later than the leader acknowledges it.
	noise, err := nats.Connect(c.NodeURL(leader))
	require.NoError(t, err)
	njs, err := jetstream.New(noise, jetstream.WithPublishAsyncMaxPending(256))
	require.NoError(t, err)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := njs.PublishAsync(fmt.Sprintf("$KV.wf_%s_instances.noise-%d", ns, i%64), []byte(`{}`)); err != nil {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; noise.Close() })
	var clients []*Client
	for i := range c.Size() {
		if i == leader {
			continue
		}
		fnc, err := nats.Connect(c.NodeURL(i))
		require.NoError(t, err)
		t.Cleanup(fnc.Close)
		fb, err := streams.Open(fnc, streams.WithNamespace(ns), streams.WithRequestTimeout(10*time.Second))
		require.NoError(t, err)
		clients = append(clients, NewWithOptions(fb, &Options{ResultPollInterval: testPollLimit, SettleTimeout: 5 * time.Second}))
	}
	return lb, clients
}

// eachRound runs round(c, id) clusterRounds() times on each client,
// clusterParallel at a time per client, and counts the rounds it reports
// a read that missed a write.
func eachRound(t *testing.T, clients []*Client, round func(c *Client, id string) (missed bool, err error)) int {
	t.Helper()
	missed, err := rounds.Count(clients, clusterParallel, clusterRounds(), "c", round)
	require.NoError(t, err)
	return missed
}

// An instance is there for its starter at once: a describe, a signal and
// a result wait right after CreateWorkflowInstance find it, though a
// replica that has not applied the create yet answers the client's reads.
func TestClusterInstanceFoundRightAfterItsStart(t *testing.T) {
	_, clients := clusterClients(t)
	ctx := testenv.Context(t, 2*time.Minute)
	var describe, signal, result atomic.Int64
	missed := eachRound(t, clients, func(c *Client, id string) (bool, error) {
		inst, err := c.CreateWorkflowInstance(ctx, WorkflowInstanceOptions{InstanceID: id}, Nothing)
		if err != nil {
			return false, err
		}
		var m bool
		if _, err := c.DescribeWorkflowInstance(ctx, id); errors.Is(err, ErrInstanceNotFound) {
			describe.Add(1)
			m = true
		} else if err != nil {
			return false, err
		}
		if err := c.SignalWorkflow(ctx, id, "ping", 1); errors.Is(err, ErrInstanceNotFound) {
			signal.Add(1)
			m = true
		} else if err != nil {
			return false, err
		}
		// No worker runs it: the wait ends with its timeout, unless the
		// instance is not found.
		_, err = GetWorkflowResult[any](ctx, c, inst, 20*time.Millisecond)
		switch {
		case errors.Is(err, ErrInstanceNotFound):
			result.Add(1)
			m = true
		case errors.Is(err, context.DeadlineExceeded):
		default:
			return false, fmt.Errorf("result of %s: %w", id, err)
		}
		return m, nil
	})
	t.Logf("not found by describe %d, signal %d, result %d", describe.Load(), signal.Load(), result.Load())
	require.Zero(t, missed, "starts whose instance a read right after did not find, of %d", 2*clusterRounds())
}

// An ID whose run finished can be started again at once, though the
// finish was written by another process (here a backend on another node)
// and a replica that has not applied it yet answers the starter's reads;
// and the starter's describe, signal and result wait then see the new run.
func TestClusterReuseRightAfterTheFinish(t *testing.T) {
	lb, clients := clusterClients(t)
	ctx := testenv.Context(t, 2*time.Minute)
	missed := eachRound(t, clients, func(c *Client, id string) (bool, error) {
		inst, err := c.CreateWorkflowInstance(ctx, WorkflowInstanceOptions{InstanceID: id}, Nothing)
		if err != nil {
			return false, err
		}
		// The run's end, as a worker elsewhere records it.
		rec, err := lb.GetInstanceLatest(ctx, id)
		if err != nil {
			return false, err
		}
		rec.Status, rec.FinishedAt = streams.StatusCompleted, time.Now().UTC()
		if _, err := lb.UpdateInstance(ctx, rec, rec.Revision); err != nil {
			return false, err
		}
		next, err := c.CreateWorkflowInstance(ctx, WorkflowInstanceOptions{InstanceID: id}, Nothing)
		if errors.Is(err, ErrInstanceAlreadyExists) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if next.ExecutionID == inst.ExecutionID {
			return false, fmt.Errorf("%s: the second start got the first run %q", id, inst.ExecutionID)
		}
		// The new run is the one the starter's reads see.
		d, err := c.DescribeWorkflowInstance(ctx, id)
		if err != nil {
			return false, err
		}
		if d.ExecutionID != next.ExecutionID || d.Status != streams.StatusRunning {
			return false, fmt.Errorf("%s: described run %q (%s), want the new run %q running", id, d.ExecutionID, d.Status, next.ExecutionID)
		}
		if err := c.SignalWorkflow(ctx, id, "ping", 1); err != nil {
			return false, fmt.Errorf("%s: signal the new run: %w", id, err)
		}
		if _, err := GetWorkflowResult[any](ctx, c, next, 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			return false, fmt.Errorf("%s: result of the new run: %v, want a timeout (no worker runs it)", id, err)
		}
		return false, nil
	})
	require.Zero(t, missed, "starts refused as already running right after the run finished, of %d", 2*clusterRounds())
}
