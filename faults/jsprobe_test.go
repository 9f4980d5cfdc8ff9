package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// jsProbe publishes to a plain R3 JetStream stream of its own, beside
// jetflow's workload on the same cluster, the way a careful application
// would: a short timeout per attempt, a retry (same Nats-Msg-Id, so the
// stream keeps one copy) on a timeout or while no stream answers. The
// moments its publishes succeed are NATS's own failover figure, to set
// beside the pause of jetflow's commits.
type jsProbe struct {
	js     jetstream.JetStream
	nc     *nats.Conn
	stream string

	mu      sync.Mutex
	acked   []time.Time   // when each publish was acknowledged
	slowest time.Duration // longest publish, first attempt to acknowledgement
	retries int
	sent    int
	errs    map[string]int // failed attempts by error, for the log
}

// probeAttemptTimeout is the probe's timeout per publish attempt: far
// above a healthy publish on loopback, far below an election.
const probeAttemptTimeout = 250 * time.Millisecond

// probePace is the time between the probe's publishes: the resolution of
// its pause figure.
const probePace = 5 * time.Millisecond

// startJSProbe creates the probe's stream (R3) and publishes to it until
// ctx ends; wait returns once the loop has stopped.
func startJSProbe(t *testing.T, ctx context.Context, nc *nats.Conn, name string) (p *jsProbe, wait func()) {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{name + ".>"}, Replicas: 3, Duplicates: time.Minute,
	})
	require.NoError(t, err)
	p = &jsProbe{js: js, nc: nc, stream: name, errs: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx)
	}()
	return p, func() { <-done }
}

func (p *jsProbe) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		id := strconv.Itoa(i)
		began := time.Now()
		tries := 0
		for ctx.Err() == nil {
			tries++
			actx, cancel := context.WithTimeout(ctx, probeAttemptTimeout)
			_, err := p.js.Publish(actx, p.stream+".x", []byte(id), jetstream.WithMsgID(id), jetstream.WithRetryAttempts(0))
			cancel()
			if err == nil {
				now := time.Now()
				p.mu.Lock()
				p.acked = append(p.acked, now)
				p.slowest = max(p.slowest, now.Sub(began))
				p.retries += tries - 1
				p.sent++
				p.mu.Unlock()
				break
			}
			p.mu.Lock()
			p.errs[err.Error()]++
			p.mu.Unlock()
			if !errors.Is(err, context.DeadlineExceeded) {
				// No stream answers (an election), a reconnect is
				// under way, or "stream not available": retry after
				// a breath so the loop does not spin.
				time.Sleep(probePace)
			}
		}
		time.Sleep(probePace)
	}
}

// times is a copy of the acknowledgement moments, in order.
func (p *jsProbe) times() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.acked...)
}

func (p *jsProbe) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("%d publishes, %d attempts retried, slowest publish %s; failed attempts by error: %v",
		p.sent, p.retries, p.slowest.Round(time.Millisecond), p.errs)
}

// leader is the node that leads the probe's stream ("" if none now).
func (p *jsProbe) leader(ctx context.Context) string {
	s, err := p.js.Stream(ctx, p.stream)
	if err != nil {
		return ""
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// moveLeader asks the probe's stream to hand its leadership to node, so
// the loss of that node costs both jetflow and the probe their leader; it
// reports the leader it ended with.
func (p *jsProbe) moveLeader(ctx context.Context, node string) string {
	req, _ := json.Marshal(map[string]any{"placement": map[string]string{"preferred": node}})
	deadline := time.Now().Add(20 * time.Second)
	for {
		l := p.leader(ctx)
		if l == node || time.Now().After(deadline) || ctx.Err() != nil {
			return l
		}
		if l != "" {
			_, _ = p.nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+p.stream, req)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// elections records the leader elections the cluster announces
// ($JS.EVENT.ADVISORY.{STREAM,CONSUMER}.LEADER_ELECTED): when each Raft
// group (a stream's, or a consumer's) got its new leader after a loss.
// Each group's election timeout is drawn at random (4–9 s in nats-server),
// so the groups a workload needs finish their elections at different times;
// these are the moments a client could resume at the earliest.
type elections struct {
	mu  sync.Mutex
	got []election
	sub []*nats.Subscription
}

type election struct {
	group  string // "stream S" or "consumer S > C"
	leader string
	at     time.Time // the advisory's timestamp, set by the server
}

func recordElections(t *testing.T, nc *nats.Conn) *elections {
	t.Helper()
	e := &elections{}
	for _, subj := range []string{"$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.>", "$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.>"} {
		s, err := nc.Subscribe(subj, func(m *nats.Msg) {
			var adv struct {
				Stream    string    `json:"stream"`
				Consumer  string    `json:"consumer"`
				Leader    string    `json:"leader"`
				Timestamp time.Time `json:"timestamp"`
			}
			if json.Unmarshal(m.Data, &adv) != nil {
				return
			}
			g := "stream " + adv.Stream
			if adv.Consumer != "" {
				g = "consumer " + adv.Stream + " > " + adv.Consumer
			}
			e.mu.Lock()
			e.got = append(e.got, election{group: g, leader: adv.Leader, at: adv.Timestamp})
			e.mu.Unlock()
		})
		require.NoError(t, err)
		e.sub = append(e.sub, s)
	}
	t.Cleanup(func() {
		for _, s := range e.sub {
			_ = s.Unsubscribe()
		}
	})
	return e
}

// between lists the elections in [from, to), in order, each as
// "+offset group (leader)" from from.
func (e *elections) between(from, to time.Time) []string {
	e.mu.Lock()
	got := append([]election(nil), e.got...)
	e.mu.Unlock()
	slices.SortFunc(got, func(a, b election) int { return a.at.Compare(b.at) })
	var out []string
	for _, el := range got {
		if !el.at.Before(from) && el.at.Before(to) {
			out = append(out, fmt.Sprintf("+%s %s (%s)", el.at.Sub(from).Round(time.Millisecond), el.group, el.leader))
		}
	}
	return out
}

// last is the latest election in [from, to) of a group match accepts.
func (e *elections) last(from, to time.Time, match func(group string) bool) (election, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out election
	found := false
	for _, el := range e.got {
		if !el.at.Before(from) && el.at.Before(to) && match(el.group) && (!found || el.at.After(out.at)) {
			out, found = el, true
		}
	}
	return out, found
}
