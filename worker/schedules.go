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
// and KV requests (client.HandleScheduleFire), so a batch is handled in
// parallel, one goroutine per schedule so that fires of one schedule keep
// their order.

// scheduleParallelism bounds the schedules handled at once.
const scheduleParallelism = 64

// scheduleBatch is how many fires one fetch takes.
const scheduleBatch = 256

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

func (w *Worker) pollScheduleFires(ctx context.Context, q *streams.ScheduleFireQueue, c *client.Client) {
	slots := make(chan struct{}, scheduleParallelism)
	for ctx.Err() == nil {
		msgs, err := q.Fetch(ctx, scheduleBatch, w.opts.PollWait)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("fetching schedule fires failed", logkey.Err, err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		bySchedule := map[string][]*streams.ScheduleFireMessageIn{}
		var order []string
		for _, m := range msgs {
			if m.Err != nil {
				w.log.Error("dead-lettering a malformed schedule fire", logkey.Subject, m.Subject(), logkey.Err, m.Err)
				if err := w.b.DeadLetter(ctx, streams.DeadInbox, &m.TaskMessage, "malformed schedule fire", m.Err); err != nil {
					_ = m.NakWithDelay(time.Second)
				}
				continue
			}
			id := m.Fire.ScheduleID
			if _, ok := bySchedule[id]; !ok {
				order = append(order, id)
			}
			bySchedule[id] = append(bySchedule[id], m)
		}
		var wg sync.WaitGroup
		for _, id := range order {
			slots <- struct{}{}
			wg.Add(1)
			go func(fires []*streams.ScheduleFireMessageIn) {
				defer func() { <-slots; wg.Done() }()
				for _, m := range fires {
					w.handleScheduleFire(ctx, c, m)
				}
			}(bySchedule[id])
		}
		wg.Wait()
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
