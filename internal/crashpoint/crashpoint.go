// Package crashpoint names the moments a fault test may crash a process
// at, so that a crash lands exactly between two steps whose order matters
// (the fault suite's testworker kills itself there). Nothing happens at a
// point unless a hook is set, and only the fault suite's processes set
// one: in a library build every Reached is one atomic load.
package crashpoint

import "sync/atomic"

// Points of the schedule fire path (client.HandleScheduleFire), in order.
const (
	// ScheduleRegistered: the fire's instance is in the registry, its
	// start event is not published yet.
	ScheduleRegistered = "schedule-registered"
	// ScheduleStarted: the start event is stored, the fire is not yet
	// recorded in the schedule.
	ScheduleStarted = "schedule-started"
	// ScheduleRecorded: the fire is recorded, the next fire not yet armed
	// and the fire message not acknowledged.
	ScheduleRecorded = "schedule-recorded"
)

var hook atomic.Pointer[func(point string)]

// Set installs f, called at every point reached (nil removes it).
func Set(f func(point string)) {
	if f == nil {
		hook.Store(nil)
		return
	}
	hook.Store(&f)
}

// Reached calls the hook, if one is set, with point.
func Reached(point string) {
	if f := hook.Load(); f != nil {
		(*f)(point)
	}
}
