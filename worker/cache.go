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
}

type runKey struct{ instance, run string }

// executorCache is an LRU of cached runs. A size of zero caches nothing.
// Executors taken out with take are owned by the caller until put back.
type executorCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front = most recently used
	items map[runKey]*list.Element
}

func newExecutorCache(size int) *executorCache {
	return &executorCache{size: size, order: list.New(), items: map[runKey]*list.Element{}}
}

// take removes and returns the cached run, or nil.
func (c *executorCache) take(k runKey) *cachedRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	c.order.Remove(el)
	delete(c.items, k)
	return el.Value.(*cachedRun)
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
		if old != r {
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
		evicted = append(evicted, ev)
	}
	c.mu.Unlock()
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
	items := c.items
	c.items = map[runKey]*list.Element{}
	c.order.Init()
	c.mu.Unlock()
	for _, el := range items {
		el.Value.(*cachedRun).ex.Close()
	}
}
