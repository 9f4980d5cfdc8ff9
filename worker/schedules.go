package worker

import (
	"context"
	"sync"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
)

// Schedule fires: every worker of a namespace takes fires from the
// namespace's one schedule consumer, whatever queues it serves; the fire's
// instance runs on the schedule's queue. Handling a fire is a few registry
// and KV requests (client.HandleScheduleFire), so fires are handled by a
// bounded pool of goroutines, fetched as slots free up (many schedules due
// at the same instant are worked off without waiting for the slowest of a
// batch). Fires of one schedule keep their order: a fire whose schedule is
// being handled waits for it and is handled next by the same goroutine.

// scheduleParallelism bounds the fires handled at once.
const scheduleParallelism = 64

// scheduleBatch is the most fires one fetch takes, and
// scheduleFetchAtLeast the free slots the poller waits for before it
// fetches.
const (
	scheduleBatch        = 256
	scheduleFetchAtLeast = 16
)

// startSchedules binds the schedule consumer, reconciles the namespace's
// schedules with their message schedules in the background, and starts
// polling fires.
func (w *Worker) startSchedules(ctx context.Context) error {
	q, err := w.b.ScheduleFires(ctx)
	if err != nil {
		return err
	}
	c := client.NewWithOptions(w.b, &client.Options{Logger: w.log})
	w.tasks.Add(2)
	go func() {
		defer w.tasks.Done()
		if err := c.ReconcileSchedules(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("reconciling schedules at start failed", logkey.Err, err)
		}
	}()
	go func() {
		defer w.tasks.Done()
		w.pollScheduleFires(ctx, q, c)
	}()
	return nil
}

// firePool hands fires to at most scheduleParallelism goroutines, one
// schedule per goroutine at a time.
type firePool struct {
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	// busy holds the schedules being handled, each with the fires that
	// came meanwhile, in order.
	busy map[string][]*streams.ScheduleFireMessageIn
}

// take reserves at least least slots (waiting for them) and then as many
// more as are free, up to limit; it returns how many (0 when ctx ends).
// Waiting for a few slots rather than one keeps fetches batched while every
// slot is busy: a fetch is a request to the server.
func (p *firePool) take(ctx context.Context, least, limit int) int {
	n := 0
	for n < least {
		select {
		case p.slots <- struct{}{}:
			n++
		case <-ctx.Done():
			p.release(n)
			return 0
		}
	}
	for n < limit {
		select {
		case p.slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (p *firePool) release(n int) {
	for range n {
		<-p.slots
	}
}

// submit hands m to a goroutine of its own, using one reserved slot, or
// queues it behind its schedule's fire being handled (reporting false: the
// slot is still the caller's).
func (p *firePool) submit(m *streams.ScheduleFireMessageIn, handle func(*streams.ScheduleFireMessageIn)) bool {
	id := m.Fire.ScheduleID
	p.mu.Lock()
	if waiting, ok := p.busy[id]; ok {
		p.busy[id] = append(waiting, m)
		p.mu.Unlock()
		return false
	}
	p.busy[id] = nil
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer func() { p.release(1); p.wg.Done() }()
		for {
			handle(m)
			p.mu.Lock()
			waiting := p.busy[id]
			if len(waiting) == 0 {
				delete(p.busy, id)
				p.mu.Unlock()
				return
			}
			m, p.busy[id] = waiting[0], waiting[1:]
			p.mu.Unlock()
		}
	}()
	return true
}

func (w *Worker) pollScheduleFires(ctx context.Context, q *streams.ScheduleFireQueue, c *client.Client) {
	pool := &firePool{slots: make(chan struct{}, scheduleParallelism), busy: map[string][]*streams.ScheduleFireMessageIn{}}
	defer pool.wg.Wait()
	handle := func(m *streams.ScheduleFireMessageIn) { w.handleScheduleFire(ctx, c, m) }
	for ctx.Err() == nil {
		free := pool.take(ctx, scheduleFetchAtLeast, scheduleBatch)
		if free == 0 {
			return
		}
		msgs, err := q.Fetch(ctx, free, w.opts.PollWait)
		if err != nil {
			pool.release(free)
			if ctx.Err() == nil {
				w.log.Warn("fetching schedule fires failed", logkey.Err, err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		for _, m := range msgs {
			if m.Err != nil {
				w.log.Error("dead-lettering a malformed schedule fire", logkey.Subject, m.Subject(), logkey.Err, m.Err)
				if err := w.b.DeadLetter(ctx, streams.DeadInbox, &m.TaskMessage, "malformed schedule fire", m.Err); err != nil {
					_ = m.NakWithDelay(time.Second)
				}
				continue
			}
			if pool.submit(m, handle) {
				free--
			}
		}
		pool.release(free)
	}
}

func (w *Worker) handleScheduleFire(ctx context.Context, c *client.Client, m *streams.ScheduleFireMessageIn) {
	retry, err := c.HandleScheduleFire(ctx, m.Fire)
	switch {
	case err != nil:
		delay := min(time.Duration(m.Deliveries())*w.opts.TaskRetryDelay, time.Minute)
		if ctx.Err() == nil {
			w.log.Warn("handling a schedule fire failed; retrying", "schedule_id", m.Fire.ScheduleID,
				"fire_time", m.Fire.FireTime, logkey.RetryIn, delay, logkey.Err, err)
		}
		_ = m.NakWithDelay(delay)
	case retry > 0:
		_ = m.NakWithDelay(retry)
	default:
		_ = m.Ack()
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
