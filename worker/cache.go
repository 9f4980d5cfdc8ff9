package worker

import (
	"container/list"
	"sync"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
)

// cachedRun is a run's executor kept between tasks, with what the worker
// needs to continue it without reading the history again.
type cachedRun struct {
	key     runKey
	ex      *engine.Executor
	lastSeq uint64        // the history's last sequence the executor has seen
	started history.Event // the run's WorkflowStarted event

	// Guarded by the cache's mu. lent is set while a query uses the
	// executor in place (closed when it is given back); dropped says the
	// run left the cache meanwhile, so whoever gives it back closes it.
	lent    chan struct{}
	dropped bool

	// lease holds the running task's messages for the run's local
	// activities to keep leased (worker/localactivities.go).
	lease *leaseHolder

	// Telemetry of the run (worker/telemetry.go): the trace its tasks
	// join, their span name, and the current task's span for the
	// workflow's logger.
	trace runTrace
}

type runKey struct{ instance, run string }

// executorCache is an LRU of cached runs. A size of zero caches nothing.
// Executors taken out with take are owned by the caller until put back.
// A query borrows an executor in place instead (lend); a task's take waits
// until it is given back, so a task and a query never use one executor at
// once.
type executorCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front = most recently used
	items map[runKey]*list.Element
	// onEvict, when set, is told how many runs put evicted.
	onEvict func(n int)
}

func newExecutorCache(size int) *executorCache {
	return &executorCache{size: size, order: list.New(), items: map[runKey]*list.Element{}}
}

// take removes and returns the cached run, or nil. A run lent to a query
// is taken once given back.
func (c *executorCache) take(k runKey) *cachedRun {
	for {
		c.mu.Lock()
		el, ok := c.items[k]
		if !ok {
			c.mu.Unlock()
			return nil
		}
		r := el.Value.(*cachedRun)
		if lent := r.lent; lent != nil {
			c.mu.Unlock()
			<-lent
			continue
		}
		c.order.Remove(el)
		delete(c.items, k)
		c.mu.Unlock()
		return r
	}
}

// lend returns the cached run for a query to use in place, or nil when it
// is not cached or already lent. The caller must give it back.
func (c *executorCache) lend(k runKey) *cachedRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	r := el.Value.(*cachedRun)
	if r.lent != nil {
		return nil
	}
	r.lent = make(chan struct{})
	c.order.MoveToFront(el)
	return r
}

// giveBack ends a loan. Unless keep, the run leaves the cache. It reports
// whether the caller must close the executor: the run is no longer cached.
func (c *executorCache) giveBack(r *cachedRun, keep bool) (closeIt bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(r.lent)
	r.lent = nil
	if !keep && !r.dropped {
		if el, ok := c.items[r.key]; ok && el.Value == r {
			c.order.Remove(el)
			delete(c.items, r.key)
		}
		r.dropped = true
	}
	return r.dropped
}

// dropLocked says whether a run that left the cache is to be closed now:
// not while a query has it (that query closes it when it gives it back).
// c.mu must be held.
func (c *executorCache) dropLocked(r *cachedRun) (closeNow bool) {
	if r.lent != nil {
		r.dropped = true
		return false
	}
	return true
}

// put caches a run, evicting (and closing) the least recently used beyond
// the size. A finished run is not cached.
func (c *executorCache) put(r *cachedRun) {
	if c.size == 0 {
		r.ex.Close()
		return
	}
	c.mu.Lock()
	if el, ok := c.items[r.key]; ok {
		old := el.Value.(*cachedRun)
		c.order.Remove(el)
		delete(c.items, r.key)
		if old != r && c.dropLocked(old) {
			defer old.ex.Close()
		}
	}
	c.items[r.key] = c.order.PushFront(r)
	var evicted []*cachedRun
	for c.order.Len() > c.size {
		el := c.order.Back()
		c.order.Remove(el)
		ev := el.Value.(*cachedRun)
		delete(c.items, ev.key)
		if c.dropLocked(ev) {
			evicted = append(evicted, ev)
		}
	}
	c.mu.Unlock()
	if len(evicted) > 0 && c.onEvict != nil {
		c.onEvict(len(evicted))
	}
	for _, ev := range evicted {
		ev.ex.Close()
	}
}

// len is the number of cached runs.
func (c *executorCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *executorCache) clear() {
	c.mu.Lock()
	var closing []*cachedRun
	for _, el := range c.items {
		if r := el.Value.(*cachedRun); c.dropLocked(r) {
			closing = append(closing, r)
		}
	}
	c.items = map[runKey]*list.Element{}
	c.order.Init()
	c.mu.Unlock()
	for _, r := range closing {
		r.ex.Close()
	}
}
