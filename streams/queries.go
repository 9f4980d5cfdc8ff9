package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
)

// QueryRequest asks a worker of an instance's queue to run a query handler
// of the instance. It travels as JSON over core NATS request/reply.
type QueryRequest struct {
	InstanceID string `json:"instance_id"`
	// ExecutionID is the run to query; empty means the current run.
	ExecutionID string   `json:"execution_id,omitempty"`
	Name        string   `json:"name"`
	Args        [][]byte `json:"args,omitempty"`
	// Trace is the W3C trace context of the caller's query span.
	Trace *history.TraceContext `json:"trace,omitempty"`
}

// QueryResponse is a worker's answer: the encoded result, or a failure.
type QueryResponse struct {
	Result  []byte           `json:"result,omitempty"`
	Failure *history.Failure `json:"failure,omitempty"`
	// Unavailable is set when the failure is a payload the worker could
	// not read (ErrPayloadUnavailable: the query's arguments or the run's
	// history), KeyID when the reason is a key it lacks. Err keeps both
	// matchable on the caller's side.
	Unavailable bool   `json:"unavailable,omitempty"`
	KeyID       string `json:"key_id,omitempty"`
}

// NewQueryFailure is the answer for a query that failed with err.
func NewQueryFailure(f *history.Failure, err error) *QueryResponse {
	r := &QueryResponse{Failure: f}
	if errors.Is(err, ErrPayloadUnavailable) {
		r.Unavailable = true
		if knf, ok := errors.AsType[*codec.KeyNotFoundError](err); ok {
			r.KeyID = knf.KeyID
		}
	}
	return r
}

// Err rebuilds, around failure (the error the answer's Failure makes), what
// the worker's error matched: ErrPayloadUnavailable, and a
// *codec.KeyNotFoundError naming the key.
func (r *QueryResponse) Err(failure error) error {
	if !r.Unavailable {
		return failure
	}
	errs := []error{failure, ErrPayloadUnavailable}
	if r.KeyID != "" {
		errs = append(errs, &codec.KeyNotFoundError{KeyID: r.KeyID})
	}
	return &remoteError{msg: failure.Error(), errs: errs}
}

// remoteError is an error from another process with what it matched there.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

// ErrNoQueryResponder means no worker serves the queue's queries.
var ErrNoQueryResponder = errors.New("streams: no worker is serving queries on the queue")

// failureTypePayloadTooLarge is workflow.ErrTypePayloadTooLarge (streams
// does not import package workflow).
const failureTypePayloadTooLarge = "PayloadTooLarge"

// queryWorkers is the queue group all workers of a queue answer queries in,
// so each query is answered by one worker.
const queryWorkers = "workers"

// Query sends a query to the workers of queue and waits for one answer (until
// ctx ends, or the backend's request timeout when ctx has no deadline).
func (b *Backend) Query(ctx context.Context, queue string, req *QueryRequest) (*QueryResponse, error) {
	q, err := EncodeQueue(queue)
	if err != nil {
		return nil, err
	}
	if _, err := EncodeInstanceID(req.InstanceID); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, errors.New("streams: query has no name")
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("streams: encode query: %w", err)
	}
	if err := b.checkSize("query "+req.Name, len(data)+64); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.opts.requestTimeout)
		defer cancel()
	}
	msg, err := b.nc.RequestWithContext(ctx, b.n.query(q), data)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("%w %q", ErrNoQueryResponder, queue)
		}
		return nil, fmt.Errorf("streams: query %q of %q: %w", req.Name, req.InstanceID, err)
	}
	var resp QueryResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("streams: malformed query answer: %w", err)
	}
	return &resp, nil
}

// ServeQueries answers the queries of a queue with handle until the returned
// subscription is drained or unsubscribed. A malformed request is answered
// with a failure, never passed to handle.
func (b *Backend) ServeQueries(queue string, handle func(*QueryRequest) *QueryResponse) (*nats.Subscription, error) {
	q, err := EncodeQueue(queue)
	if err != nil {
		return nil, err
	}
	sub, err := b.nc.QueueSubscribe(b.n.query(q), queryWorkers, func(msg *nats.Msg) {
		var req QueryRequest
		var resp *QueryResponse
		if err := json.Unmarshal(msg.Data, &req); err != nil || req.InstanceID == "" || req.Name == "" {
			resp = &QueryResponse{Failure: &history.Failure{Type: history.FailureTypeBadQuery, Message: "malformed query request"}}
		} else {
			resp = handle(&req)
		}
		data, err := json.Marshal(resp)
		if err != nil {
			data, _ = json.Marshal(&QueryResponse{Failure: &history.Failure{Message: "encode query answer: " + err.Error()}})
		}
		if err := b.checkSize("the answer to query "+req.Name, len(data)+len(msg.Reply)+64); err != nil {
			// Answers are not moved to the object store: tell the
			// caller now rather than let it wait for its timeout.
			data, _ = json.Marshal(&QueryResponse{Failure: &history.Failure{
				Type:    failureTypePayloadTooLarge,
				Message: err.Error() + " (query answers are not moved to the object store: return less, or read large values another way)",
			}})
		}
		if err := msg.Respond(data); err != nil {
			b.log.Warn("answering a query failed", logkey.Err, err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("streams: serve queries of queue %q: %w", queue, err)
	}
	return sub, nil
}
