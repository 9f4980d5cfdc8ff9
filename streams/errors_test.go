package streams

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
)

func TestIsWrongLastSequence(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"single server code", &jetstream.APIError{ErrorCode: 10071, Code: 400}, true},
		{"clustered code", &jetstream.APIError{ErrorCode: 10164, Code: 400}, true},
		{"wrapped", fmt.Errorf("publish: %w", &jetstream.APIError{ErrorCode: 10164}), true},
		{"other API error", &jetstream.APIError{ErrorCode: 10059}, false},
		{"plain error", errors.New("wrong last sequence"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, isWrongLastSequence(tt.err))
		})
	}
}
