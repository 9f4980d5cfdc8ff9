package history

import "unicode/utf8"

// Failure types given below package workflow. The list of every failure
// type users match on is in package workflow (workflow.ErrType*); these
// are here because history and streams, which workflow's list points to,
// cannot import workflow.
const (
	FailureTypeCanceled   = "Canceled"
	FailureTypeTerminated = "Terminated"
	// FailureTypeBadQuery answers a query request that does not decode;
	// package streams, below workflow, gives it.
	FailureTypeBadQuery = "BadQuery"
)

// RunFailure is the error a final event ends its run with, as the run's
// parent, the registry and a result waiter see it: the workflow's error for
// WorkflowFailed, a Canceled or Terminated failure (the message is the
// termination's reason) for those ends, nil for a completed run or a
// continue-as-new.
func (e *Event) RunFailure() *Failure {
	switch e.Kind {
	case WorkflowFailed:
		return e.Failure
	case WorkflowCanceled:
		return &Failure{Type: FailureTypeCanceled, Message: "workflow canceled"}
	case WorkflowTerminated:
		return &Failure{Type: FailureTypeTerminated, Message: e.Reason, NonRetryable: true}
	}
	return nil
}

// Cut returns f with its message and stack cut to a size that fits any
// message (2 KiB and 4 KiB), for a record or an answer that must stay
// small; nil for nil.
func (f *Failure) Cut() *Failure {
	if f == nil {
		return nil
	}
	c := *f
	c.Message, c.Stack = Truncate(c.Message, 2048), Truncate(c.Stack, 4096)
	return &c
}

// Size is about how many bytes f takes.
func (f *Failure) Size() int {
	if f == nil {
		return 0
	}
	return len(f.Type) + len(f.Message) + len(f.Stack)
}

// Truncate shortens s to at most n bytes, marking the cut, without
// splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " …[cut]"
	i := n - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}
