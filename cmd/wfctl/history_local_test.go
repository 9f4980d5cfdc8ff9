package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
)

func TestEventDetailsOfALocalActivity(t *testing.T) {
	for _, tc := range []struct {
		ev   client.DecodedEvent
		want string
	}{
		{client.DecodedEvent{Kind: history.LocalActivityCompleted, Name: "Lookup", Result: "v",
			Local: &history.LocalActivity{Seq: 1, Attempt: 1}}, `Lookup, local call 1, attempt 1, result "v"`},
		{client.DecodedEvent{Kind: history.LocalActivityFailed, Name: "Lookup", Failure: &history.Failure{Message: "down"},
			Local: &history.LocalActivity{Seq: 2, Attempt: 3, RetryAfter: 8 * time.Second}}, "Lookup, local call 2, attempt 3, retry after 8s, error down"},
	} {
		assert.Equal(t, tc.want, eventDetails(&tc.ev))
	}
}
