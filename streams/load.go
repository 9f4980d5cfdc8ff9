package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// loadWindow is how many publishes LoadInstances has unacknowledged.
const loadWindow = 4096

// LoadInstances writes n registry records, rec(0) to rec(n-1) in that
// order (oldest first), with their list-index rows and counts, straight
// to the namespace: pipelined publishes, without the uniqueness check of
// CreateInstance and without histories or starts. It is for benchmarks of
// lists at scale (making a million finished instances by running
// workflows takes hours on a small machine) and for tests; the records it
// writes are not instances that can run.
func (b *Backend) LoadInstances(ctx context.Context, n int, rec func(i int) *InstanceRecord) error {
	var pending []jetstream.PubAckFuture
	settle := func(all bool) error {
		keep := 0
		if !all {
			keep = loadWindow / 2
		}
		for len(pending) > keep {
			f := pending[0]
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("streams: load instances: %s: %w", f.Msg().Subject, err)
			case <-ctx.Done():
				return ctx.Err()
			}
			pending = pending[1:]
		}
		return nil
	}
	publish := func(m *nats.Msg) error {
		if len(pending) >= loadWindow {
			if err := settle(false); err != nil {
				return err
			}
		}
		f, err := b.js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("streams: load instances: %w", err)
		}
		pending = append(pending, f)
		return nil
	}
	counts := map[string]int64{}
	for i := range n {
		r := rec(i)
		data, key, err := b.encodeRecord(r)
		if err != nil {
			return err
		}
		if err := publish(&nats.Msg{Subject: "$KV." + b.n.registryBucket() + "." + key, Data: data}); err != nil {
			return err
		}
		if b.index == nil {
			continue
		}
		j := &indexJob{instanceID: r.InstanceID}
		subj := b.indexSubject(r)
		counts[b.counterOf(subj)]++
		if err := publish(&nats.Msg{Subject: subj}); err != nil {
			return err
		}
		b.planAttrRows(j, r)
		for _, s := range j.attrRows {
			if err := publish(&nats.Msg{Subject: s}); err != nil {
				return err
			}
		}
	}
	for c, by := range counts {
		if err := publish(counterIncr(c, by)); err != nil {
			return err
		}
	}
	return settle(true)
}

// ListBenchRecord is the i-th record of the list benchmarks (BenchmarkList
// here, the UI's in diag): created i ms after 2026-01-01; 98% completed,
// 1% failed (i%100 == 7), 1% running (i%100 == 42); workflow W<i%10>, or
// Rare for one in a thousand; search attribute region=r<i%10>, and
// tier=gold for one in a thousand.
func ListBenchRecord(i int) *InstanceRecord {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	r := &InstanceRecord{
		InstanceID:       fmt.Sprintf("i%07d", i),
		WorkflowName:     fmt.Sprintf("W%d", i%10),
		Queue:            DefaultQueue,
		ExecutionID:      fmt.Sprintf("run-%d", i),
		Status:           StatusCompleted,
		CreatedAt:        created,
		UpdatedAt:        created,
		SearchAttributes: map[string]string{"region": fmt.Sprintf("r%d", i%10)},
	}
	switch i % 100 {
	case 7:
		r.Status = StatusFailed
	case 42:
		r.Status = StatusRunning
	}
	if r.Status.Finished() {
		r.FinishedAt = created.Add(time.Second)
	}
	if i%1000 == 500 {
		r.WorkflowName = "Rare"
	}
	if i%1000 == 250 {
		r.SearchAttributes["tier"] = "gold"
	}
	return r
}
