package streams

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams/embedded"
)

// startCluster runs a 3-node cluster and provisions an R3 namespace on it,
// with opts besides.
func startCluster(t *testing.T, opts ...Option) (*embedded.Cluster, *Backend) {
	t.Helper()
	c, err := embedded.StartCluster(3, embedded.ClusterOptions{})
	require.NoError(t, err)
	t.Cleanup(c.Shutdown)
	nc, err := c.Connect()
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	b, err := New(nc, append([]Option{WithReplicas(3), WithRequestTimeout(10 * time.Second)}, opts...)...)
	require.NoError(t, err)
	return c, b
}

func TestClusterCommitRace(t *testing.T) {
	_, b := startCluster(t)
	s, err := b.js.Stream(testContext(t), b.n.historyStream())
	require.NoError(t, err)
	assert.Equal(t, 3, s.CachedInfo().Config.Replicas)
	raceCommits(t, b)
}

// Losing the node that leads the history stream: after a new leader is
// elected, reads and sequence-checked commits go on, and the old node comes
// back and catches up.
func TestClusterSurvivesLosingTheLeader(t *testing.T) {
	c, b := startCluster(t)
	ctx := testContext(t)
	last := commitN(t, b, "i", "r", 5)

	info, err := b.history.Info(ctx)
	require.NoError(t, err)
	require.NotNil(t, info.Cluster)
	leader := c.NodeIndex(info.Cluster.Leader)
	require.GreaterOrEqual(t, leader, 0, "leader %q", info.Cluster.Leader)
	require.NoError(t, c.Stop(leader))

	// Commits go on once a new leader is elected. Each try is the same
	// commit: one whose answer was lost in the election is recognised.
	c6 := testCommit(5)
	eventually(t, 60*time.Second, "a commit after the leader was lost", func() bool {
		try, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		seq, err := b.Commit(try, "i", "r", last, c6)
		if err != nil {
			t.Logf("commit while electing: %v", err)
			return false
		}
		last = seq
		return true
	})
	h, err := b.ReadHistory(ctx, "i", "r")
	require.NoError(t, err)
	assert.Len(t, h.Commits, 6)

	require.NoError(t, c.Restart(leader))
	_, err = b.Commit(ctx, "i", "r", last, testCommit(6))
	require.NoError(t, err)
	eventually(t, 30*time.Second, "the restarted node to catch up", func() bool {
		info, err := b.history.Info(ctx)
		if err != nil || info.Cluster == nil {
			return false
		}
		for _, r := range info.Cluster.Replicas {
			if r.Name == c.NodeName(leader) && r.Current {
				return info.State.Msgs == 7
			}
		}
		return info.Cluster.Leader == c.NodeName(leader) && info.State.Msgs == 7
	})
}

// TestClusterRemovalMarkersExpire: on R3, the markers that removals leave
// in the registry expire on the leader and on the replicas (the replica
// that leads after the leader is stopped holds none either).
func TestClusterRemovalMarkersExpire(t *testing.T) {
	c, b := startCluster(t, withMarkerTTL(time.Second))
	ctx := testContext(t)
	for i := range 5 {
		r := record(fmt.Sprintf("i%d", i), StatusCompleted, time.Now())
		_, err := b.CreateInstance(ctx, r)
		require.NoError(t, err)
		require.NoError(t, b.RemoveInstance(ctx, r, nil))
	}
	registry := "KV_" + b.n.registryBucket()
	empty := func() (leader string, ok bool) {
		// Each try has its own deadline: a request to the node just
		// stopped can hang until it times out.
		try, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := b.js.Stream(try, registry)
		if err != nil {
			return "", false
		}
		info := s.CachedInfo()
		if info.Cluster == nil {
			return "", false
		}
		return info.Cluster.Leader, info.State.Msgs == 0
	}
	var leader string
	eventually(t, 30*time.Second, "the markers to expire on the leader", func() bool {
		var ok bool
		leader, ok = empty()
		return ok
	})
	require.NoError(t, c.Stop(c.NodeIndex(leader)))
	eventually(t, 60*time.Second, "a new leader, with no marker either", func() bool {
		now, ok := empty()
		return ok && now != "" && now != leader
	})
}
