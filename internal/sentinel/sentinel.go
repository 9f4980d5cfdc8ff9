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
