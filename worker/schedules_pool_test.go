package worker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams"
)

// TestFirePool: fires of one schedule are handled one at a time and in
// the order submitted; fires of different schedules run at once, never
// more than the slots; every slot comes back.
func TestFirePool(t *testing.T) {
	for _, tc := range []struct {
		name               string
		slots, schedules   int
		firesEach, perTake int
	}{
		{"one schedule, many fires", 4, 1, 50, 4},
		{"many schedules, one fire each", 4, 40, 1, 4},
		{"many schedules, several fires", 8, 20, 5, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pool := &firePool{slots: make(chan struct{}, tc.slots), busy: map[string][]*streams.ScheduleFireMessageIn{}}
			var (
				mu        sync.Mutex
				running   = map[string]bool{}
				inFlight  int
				maxFlight int
				handled   = map[string][]int{}
			)
			handle := func(m *streams.ScheduleFireMessageIn) {
				id := m.Fire.ScheduleID
				mu.Lock()
				assert.False(t, running[id], "two fires of %s at once", id)
				running[id] = true
				inFlight++
				maxFlight = max(maxFlight, inFlight)
				mu.Unlock()
				time.Sleep(time.Millisecond) // let others overlap
				mu.Lock()
				running[id] = false
				inFlight--
				handled[id] = append(handled[id], int(m.Fire.FireTime.Unix()))
				mu.Unlock()
			}
			var fires []*streams.ScheduleFireMessageIn
			for k := range tc.firesEach {
				for s := range tc.schedules {
					fires = append(fires, &streams.ScheduleFireMessageIn{Fire: streams.ScheduleFireMessage{
						ScheduleID: fmt.Sprintf("s%d", s), FireTime: time.Unix(int64(k), 0)}})
				}
			}
			for len(fires) > 0 {
				free := pool.take(ctx, 1, tc.perTake)
				require.NotZero(t, free)
				n := min(free, len(fires))
				for _, m := range fires[:n] {
					if pool.submit(m, handle) {
						free--
					}
				}
				fires = fires[n:]
				pool.release(free)
			}
			pool.wg.Wait()
			require.LessOrEqual(t, maxFlight, tc.slots)
			require.Len(t, handled, tc.schedules)
			for id, got := range handled {
				require.Len(t, got, tc.firesEach, id)
				for k := range got {
					require.Equal(t, k, got[k], "%s: fires out of order: %v", id, got)
				}
			}
			require.Zero(t, len(pool.slots), "slots not given back")
			require.Empty(t, pool.busy)
		})
	}
}
