// Package sentinel holds the error values that more than one public
// package exports under its own name. Each concept is one value, so
// errors.Is matches it whichever name the caller uses: streams (the
// storage layer), workflow (workflow code) and client (callers) all
// re-export these rather than define look-alikes.
package sentinel

import "errors"

var (
	// InstanceExists means an instance ID is taken: its registry entry
	// exists (streams.ErrInstanceExists, workflow and
	// client.ErrInstanceAlreadyExists).
	InstanceExists = errors.New("workflow instance already exists")

	// InstanceNotFound means no instance has the ID
	// (streams.ErrInstanceNotFound, workflow and client.ErrInstanceNotFound).
	InstanceNotFound = errors.New("workflow instance not found")
)

// PayloadUnavailable means a payload cannot be read here and now, though
// it is not malformed: it was encrypted with a key this process lacks,
// encoded with a codec this process does not have, or stored in the object
// store and the object is missing or could not be read
// (streams.ErrPayloadUnavailable). A task meeting one is retried later,
// by this worker or one that has the key, rather than failing its run.
var PayloadUnavailable = errors.New("payload unavailable")
