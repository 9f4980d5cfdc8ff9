package engine_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/workflow"
)

func TestFailureRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		failure *history.Failure
		is      []error
	}{
		{"nil", nil, nil, nil},
		{"plain", errors.New("boom"), &history.Failure{Message: "boom"}, nil},
		{"typed", workflow.NewError("Declined", "card declined"), &history.Failure{Type: "Declined", Message: "card declined"}, nil},
		{"wrapped typed", fmt.Errorf("charge: %w", workflow.NewError("Declined", "card declined")),
			&history.Failure{Type: "Declined", Message: "charge: card declined"}, nil},
		{"permanent", workflow.NewPermanentError(errors.New("bad input")),
			&history.Failure{Message: "bad input", NonRetryable: true}, nil},
		{"canceled", fmt.Errorf("step: %w", workflow.Canceled), &history.Failure{Type: "Canceled", Message: "step: canceled"},
			[]error{workflow.Canceled}},
		{"panic", &workflow.PanicError{Value: "x", Stack: "main.go:1"},
			&history.Failure{Type: "PanicError", Message: "x", Stack: "main.go:1"}, nil},
		{"already exists", workflow.ErrInstanceAlreadyExists,
			&history.Failure{Type: "InstanceAlreadyExists", Message: "workflow instance already exists"}, []error{workflow.ErrInstanceAlreadyExists}},
		{"not found", workflow.ErrInstanceNotFound,
			&history.Failure{Type: "InstanceNotFound", Message: "workflow instance not found"}, []error{workflow.ErrInstanceNotFound}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := engine.FailureFromError(tt.err)
			assert.Equal(t, tt.failure, f)
			back := engine.ErrorFromFailure(f)
			if tt.err == nil {
				assert.NoError(t, back)
				return
			}
			assert.Equal(t, tt.err.Error(), back.Error(), "same message")
			assert.Equal(t, engine.IsPermanent(tt.err), engine.IsPermanent(back))
			for _, target := range tt.is {
				assert.ErrorIs(t, back, target)
			}
			assert.Equal(t, f, engine.FailureFromError(back), "stable after a second trip")
		})
	}
}

func TestErrorFromFailureTypes(t *testing.T) {
	var we *workflow.Error
	assert.ErrorAs(t, engine.ErrorFromFailure(&history.Failure{Type: "T", Message: "m"}), &we)
	assert.Equal(t, workflow.Error{Type: "T", Message: "m"}, *we)
	var pe *workflow.PanicError
	assert.ErrorAs(t, engine.ErrorFromFailure(&history.Failure{Type: "PanicError", Message: "m", NonRetryable: true}), &pe)
	assert.False(t, errors.Is(engine.ErrorFromFailure(&history.Failure{Type: "Other"}), workflow.Canceled))
	assert.Equal(t, "T", workflow.NewError("T", "").Error(), "an empty message shows the type")
}

func TestMsgpackConverter(t *testing.T) {
	c := converter.Default
	b, err := c.Encode(Order{ID: "a", Amount: 3})
	assert.NoError(t, err)
	var o Order
	assert.NoError(t, c.Decode(b, &o))
	assert.Equal(t, Order{ID: "a", Amount: 3}, o)
	var n int
	err = c.Decode(b, &n)
	assert.ErrorContains(t, err, "msgpack: decode into *int")
	_, err = c.Encode(func() {})
	assert.ErrorContains(t, err, "msgpack: encode func()")
}
