package streams

import (
	"errors"

	"github.com/jetflow/jetflow/internal/sentinel"
	"github.com/nats-io/nats.go/jetstream"
)

// Sentinel errors callers match with errors.Is. Every error from this
// package wraps one of these, a context error, or a NATS error.
var (
	// ErrConflict means a commit lost the race: the run's history moved on
	// since the sequence the committer read. Re-read and re-run.
	ErrConflict = errors.New("streams: commit conflict: the run's history moved on")

	// ErrPayloadTooLarge means a message is larger than the server's
	// max_payload.
	ErrPayloadTooLarge = errors.New("streams: payload too large")

	// ErrInstanceExists means a registry entry for the instance ID exists.
	// It is the very value of workflow.ErrInstanceAlreadyExists and
	// client.ErrInstanceAlreadyExists: errors.Is matches any of the names.
	ErrInstanceExists = sentinel.InstanceExists

	// ErrInstanceNotFound means the registry has no entry for the ID. It
	// is the very value of workflow.ErrInstanceNotFound and
	// client.ErrInstanceNotFound.
	ErrInstanceNotFound = sentinel.InstanceNotFound

	// ErrNamespaceNotFound means Open found the namespace not provisioned.
	ErrNamespaceNotFound = errors.New("streams: namespace not found")

	// ErrRevisionConflict means a registry entry changed since it was read.
	ErrRevisionConflict = errors.New("streams: registry entry changed since it was read")
)

// JetStream error codes for a failed expected-last-sequence check. A single
// server answers 10071; in a clustered stream, a check made by the leader
// before proposing can answer 10164.
const (
	errCodeWrongLastSequence         jetstream.ErrorCode = 10071
	errCodeWrongLastSequenceConstant jetstream.ErrorCode = 10164
)

// isWrongLastSequence reports whether err is JetStream's answer to a failed
// expected-last-(subject-)sequence check.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == errCodeWrongLastSequence || apiErr.ErrorCode == errCodeWrongLastSequenceConstant
}
