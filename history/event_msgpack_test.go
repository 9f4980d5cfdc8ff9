package history

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// reflectiveEvent has Event's fields and tags but not its EncodeMsgpack:
// msgpack encodes it by reflection, the encoding EncodeMsgpack must match.
type reflectiveEvent Event

// randomEvent sets each field or leaves it empty, at random.
func randomEvent(r *rand.Rand) Event {
	maybe := func() bool { return r.IntN(2) == 0 }
	at := time.Unix(r.Int64N(4_000_000_000), r.Int64N(1e9)).UTC()
	e := Event{Kind: Kind(1 + r.IntN(int(WorkflowTerminated))), Time: at}
	if maybe() {
		e.ID = r.Int64N(1 << 40)
	}
	if maybe() {
		e.ScheduleID = -r.Int64N(5) + r.Int64N(100_000)
	}
	str := func() string {
		if maybe() {
			return ""
		}
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	e.InboxID, e.ExecutionID, e.Name, e.Queue, e.InstanceID, e.Reason, e.ContinuedExecutionID =
		str(), str(), str(), str(), str(), str(), str()
	bytes := func() []byte {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []byte{}
		}
		b := make([]byte, r.IntN(70_000))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	if maybe() {
		e.Args = make([][]byte, r.IntN(20))
		for i := range e.Args {
			e.Args[i] = bytes()
		}
	}
	e.Result = bytes()
	if maybe() {
		e.Failure = &Failure{Type: str(), Message: str(), Stack: str(), NonRetryable: maybe()}
	}
	if maybe() {
		e.FireAt = at.Add(time.Duration(r.Int64N(1e15)))
	}
	if maybe() {
		e.Version = r.IntN(10) - 1
	}
	if maybe() {
		e.Activity = &ActivityOptions{MaxAttempts: r.IntN(5), StartToClose: time.Duration(r.Int64N(1e12)), BackoffCoefficient: r.Float64()}
	}
	if maybe() {
		e.Parent = &Parent{InstanceID: str(), ExecutionID: str(), ScheduleID: r.Int64N(100)}
	}
	if maybe() {
		e.ParentClose = ParentClosePolicy(r.IntN(3))
	}
	if maybe() {
		e.Trace = &TraceContext{Parent: str(), State: str()}
	}
	e.UpdateID = str()
	if maybe() {
		e.Run = &RunOptions{RunTimeout: time.Duration(r.Int64N(1e12)), Attempt: r.IntN(4)}
		if maybe() {
			e.Run.Retry = &ActivityOptions{MaxAttempts: r.IntN(5) - 1}
			e.Run.ExecutionDeadline = at.Add(time.Duration(r.Int64N(1e15)))
		}
	}
	if maybe() {
		e.Memo = map[string][]byte{str(): bytes()}
	}
	if maybe() {
		e.Header = map[string][]byte{str(): bytes()}
	}
	if maybe() {
		e.SearchAttributes = map[string]string{str(): str()}
	}
	if maybe() {
		e.Local = &LocalActivity{Seq: r.Int64N(100), Attempt: r.IntN(4), RetryAfter: time.Duration(r.Int64N(1e12))}
	}
	return e
}

func TestEncodeMsgpackMatchesReflection(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	events := []Event{{Kind: TimerFired}, {Kind: WorkflowStarted, Time: time.Unix(0, 0).UTC()}}
	events = append(events, sampleCommit().Events...)
	for range 2000 {
		events = append(events, randomEvent(r))
	}
	for i := range events {
		e := &events[i]
		want, err := msgpack.Marshal((*reflectiveEvent)(e))
		require.NoError(t, err)
		got, err := msgpack.Marshal(e)
		require.NoError(t, err)
		require.Equal(t, want, got, "event %d: %+v", i, e)

		// And it reads back as written.
		var back Event
		require.NoError(t, msgpack.Unmarshal(got, &back))
		back.normalize()
		want2, _ := msgpack.Marshal((*reflectiveEvent)(&back))
		require.Equal(t, want, want2, "event %d round trip", i)
	}
}

func BenchmarkEncodeCommit(b *testing.B) {
	c := sampleCommit()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeCommit(c); err != nil {
			b.Fatal(err)
		}
	}
}
