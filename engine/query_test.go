package engine_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func TestQuery(t *testing.T) {
	var ctxForQuery workflow.Context
	wf := func(ctx workflow.Context) (int, error) {
		ctxForQuery = ctx
		count := 0
		workflow.SetQueryHandler(ctx, "count", func() (int, error) { return count, nil })
		workflow.SetQueryHandler(ctx, "plus", func(n int, label string) (string, error) {
			return label + ":" + strconv.Itoa(count+n), nil
		})
		workflow.SetQueryHandler(ctx, "fails", func() (int, error) { return 0, workflow.NewError("NotYet", "not ready") })
		workflow.SetQueryHandler(ctx, "panics", func() (int, error) { panic("oops") })
		workflow.SetQueryHandler(ctx, "schedules", func() (int, error) {
			workflow.ScheduleTimer(ctxForQuery, time.Second)
			return 0, nil
		})
		workflow.SetQueryHandler(ctx, "waits", func() (int, error) {
			workflow.NewChannel[int](ctxForQuery).Receive(ctxForQuery)
			return 0, nil
		})
		sig := workflow.NewSignalChannel[int](ctx, "inc")
		for count < 2 {
			sig.Receive(ctx)
			count++
		}
		return count, nil
	}
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
	r.Do(r.Started("wf"))
	r.Do(r.Signal("inc", 0))

	query := func(name string, args ...any) ([]byte, error) {
		var enc [][]byte
		for _, a := range args {
			enc = append(enc, r.Encode(a))
		}
		return r.Ex.Query(name, enc)
	}
	length := r.Ex.HistoryLength()
	res, err := query("count")
	require.NoError(t, err)
	assert.Equal(t, 1, enginetest.Decode[int](r, res))
	res, err = query("plus", 10, "n")
	require.NoError(t, err)
	assert.Equal(t, "n:11", enginetest.Decode[string](r, res))

	tests := []struct {
		name string
		args []any
		want string
	}{
		{"unknown", nil, `engine: no handler for query "unknown" (the workflow has handlers for ["count" "fails" "panics" "plus" "schedules" "waits"])`},
		{"plus", []any{1}, `engine: query "plus": takes 2 arguments (int, string), got 1`},
		{"plus", []any{"x", "y"}, `engine: query "plus": argument 1: cannot decode into int`},
		{"fails", nil, "not ready"},
		{"panics", nil, `engine: query "panics": handler panicked: oops`},
		{"schedules", nil, `engine: query "schedules": handler panicked: workflow: a query handler must not change the workflow's state`},
		{"waits", nil, `engine: query "waits": handler panicked: workflow: blocking workflow call outside workflow code`},
	}
	for _, tt := range tests {
		_, err := query(tt.name, tt.args...)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want)
	}
	assert.Equal(t, length, r.Ex.HistoryLength(), "queries change nothing")
	assert.Len(t, r.Ex.Pending(), 0)

	// The run goes on normally after the queries.
	r.Do(r.Signal("inc", 0))
	assert.Equal(t, 2, enginetest.Result[int](r))
	r.ReplayCheck()
}

func TestSetQueryHandlerChecksTheHandler(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) (string, error) {
		return errString(workflow.SetQueryHandler(ctx, "q", func() string { return "" })) + " / " +
			errString(workflow.SetQueryHandler(ctx, "", func() (string, error) { return "", nil })) + " / " +
			errString(workflow.SetQueryHandler(ctx, "q", nil)) + " / " +
			errString(workflow.SetQueryHandler(ctx, "q", 42)), nil
	})
	assert.Equal(t, "workflow.SetQueryHandler(q): func() string: a query handler must return (T, error) / "+
		"workflow.SetQueryHandler: empty query name / workflow.SetQueryHandler(q): nil handler / "+
		"workflow.SetQueryHandler(q): int is not a function", enginetest.Result[string](r))
}
