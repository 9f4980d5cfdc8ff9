package streams

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
)

func TestQueryRoundTrip(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)

	_, err := b.Query(ctx, "default", &QueryRequest{InstanceID: "i", Name: "status"})
	require.ErrorIs(t, err, ErrNoQueryResponder)

	sub, err := b.ServeQueries("default", func(r *QueryRequest) *QueryResponse {
		if r.Name == "status" {
			return &QueryResponse{Result: append([]byte(r.InstanceID+":"), r.Args[0]...)}
		}
		return &QueryResponse{Failure: &history.Failure{Type: "UnknownQuery", Message: "no " + r.Name}}
	})
	require.NoError(t, err)
	defer sub.Unsubscribe()

	resp, err := b.Query(ctx, "default", &QueryRequest{InstanceID: "i", Name: "status", Args: [][]byte{[]byte("x")}})
	require.NoError(t, err)
	assert.Equal(t, "i:x", string(resp.Result))

	resp, err = b.Query(ctx, "default", &QueryRequest{InstanceID: "i", Name: "other"})
	require.NoError(t, err)
	assert.Equal(t, "UnknownQuery", resp.Failure.Type)

	msg, err := b.nc.RequestWithContext(ctx, b.n.query("default"), []byte("{not json"))
	require.NoError(t, err)
	assert.Contains(t, string(msg.Data), "malformed query request")

	_, err = b.Query(ctx, "default", &QueryRequest{InstanceID: "", Name: "x"})
	require.ErrorIs(t, err, ErrInvalidName)
	_, err = b.Query(ctx, "default", &QueryRequest{InstanceID: "i"})
	require.ErrorContains(t, err, "no name")
}
