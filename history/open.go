package history

import "slices"

// OpenCommands returns the commands of a run's events still waiting for
// their answer: the ActivityScheduled, TimerScheduled and
// SubWorkflowScheduled events with no completion, failure, firing or
// timer cancel after them, oldest first. A worker uses it to stop what a
// run left going when it ended.
func OpenCommands(events []Event) []Event {
	open := map[int64]int{} // schedule ID → index in events
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case ActivityScheduled, TimerScheduled, SubWorkflowScheduled:
			open[e.ID] = i
		case ActivityCompleted, ActivityFailed, TimerFired, TimerCanceled, SubWorkflowCompleted, SubWorkflowFailed:
			delete(open, e.ScheduleID)
		}
	}
	idx := make([]int, 0, len(open))
	for _, i := range open {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]Event, len(idx))
	for n, i := range idx {
		out[n] = events[i]
	}
	return out
}
