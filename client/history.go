package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/wire"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// WorkflowHistory is the history of one run: its events in order.
type WorkflowHistory struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id"`
	// Events in order. Their payloads (Args, Result) are encoded; see
	// Client.DecodeEvent for a form to display.
	Events []history.Event `json:"events"`
	// LastSeq is the position after which the run's next commit will be
	// stored: give it to GetWorkflowHistoryAfter to read only what is new
	// (to follow a running instance).
	LastSeq uint64 `json:"last_seq"`
}

// Finished reports whether the history holds the run's final event.
func (h *WorkflowHistory) Finished() bool {
	return len(h.Events) > 0 && h.Events[len(h.Events)-1].Kind.Final()
}

// GetWorkflowHistory reads the history of a run: inst.ExecutionID, or the
// instance's current run when that is empty. An unknown instance gives
// ErrInstanceNotFound, a run the instance never had ErrExecutionNotFound.
// A run no worker has taken up yet has no events.
func (c *Client) GetWorkflowHistory(ctx context.Context, inst *workflow.Instance) (*WorkflowHistory, error) {
	return c.GetWorkflowHistoryAfter(ctx, inst, 0)
}

// GetWorkflowHistoryAfter reads the events of a run committed after
// afterSeq (a WorkflowHistory's LastSeq), for following a run as it goes.
// Give it the ExecutionID of the history read before: with an empty one it
// reads the current run, which may have moved on.
func (c *Client) GetWorkflowHistoryAfter(ctx context.Context, inst *workflow.Instance, afterSeq uint64) (*WorkflowHistory, error) {
	if err := checkInstance(inst); err != nil {
		return nil, fmt.Errorf("client: get workflow history: %w", err)
	}
	rec, err := c.getRecord(ctx, inst.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("client: get workflow history: %w", err)
	}
	run := inst.ExecutionID
	if run == "" {
		run = rec.ExecutionID
	} else if ok, err := c.hasRun(ctx, rec, run); err != nil {
		return nil, fmt.Errorf("client: get workflow history: %w", err)
	} else if !ok {
		return nil, fmt.Errorf("client: get workflow history: %w: instance %q has no run %q", ErrExecutionNotFound, inst.InstanceID, run)
	}
	h, err := c.b.ReadHistoryAfter(ctx, inst.InstanceID, run, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("client: get history of run %q of instance %q: %w", run, inst.InstanceID, err)
	}
	return &WorkflowHistory{InstanceID: inst.InstanceID, ExecutionID: run, Events: h.Events(), LastSeq: h.LastSeq}, nil
}

// DecodedEvent is a history event with its payloads decoded for display
// (see DisplayPayload); its JSON form is what a CLI or UI shows.
type DecodedEvent struct {
	ID          int64        `json:"id"`
	Kind        history.Kind `json:"kind"`
	Time        time.Time    `json:"time"`
	ScheduleID  int64        `json:"schedule_id,omitempty"`
	InboxID     string       `json:"inbox_id,omitempty"`
	ExecutionID string       `json:"execution_id,omitempty"`
	Name        string       `json:"name,omitempty"`
	Queue       string       `json:"queue,omitempty"`
	InstanceID  string       `json:"instance_id,omitempty"`
	// Args and Result are the decoded payloads.
	Args                 []any                    `json:"args,omitempty"`
	Result               any                      `json:"result,omitempty"`
	Failure              *history.Failure         `json:"failure,omitempty"`
	FireAt               time.Time                `json:"fire_at,omitzero"`
	Version              int                      `json:"version,omitempty"`
	Reason               string                   `json:"reason,omitempty"`
	Activity             *history.ActivityOptions `json:"activity,omitempty"`
	Parent               *history.Parent          `json:"parent,omitempty"`
	ContinuedExecutionID string                   `json:"continued_execution_id,omitempty"`
	UpdateID             string                   `json:"update_id,omitempty"`
	// Local is a local activity's call, attempt and retry wait.
	Local *history.LocalActivity `json:"local_activity,omitempty"`
}

// DecodeEvent returns e with its payloads decoded for display.
func (c *Client) DecodeEvent(e *history.Event) *DecodedEvent {
	d := &DecodedEvent{
		ID:                   e.ID,
		Kind:                 e.Kind,
		Time:                 e.Time,
		ScheduleID:           e.ScheduleID,
		InboxID:              e.InboxID,
		ExecutionID:          e.ExecutionID,
		Name:                 e.Name,
		Queue:                e.Queue,
		InstanceID:           e.InstanceID,
		Args:                 c.displayPayloads(e.Args),
		Failure:              e.Failure,
		FireAt:               e.FireAt,
		Version:              e.Version,
		Reason:               e.Reason,
		Activity:             e.Activity,
		Parent:               e.Parent,
		ContinuedExecutionID: e.ContinuedExecutionID,
		UpdateID:             e.UpdateID,
		Local:                e.Local,
	}
	if len(e.Result) > 0 {
		d.Result = c.DisplayPayload(e.Result)
	}
	return d
}

// DecodeEvents decodes every event of a history for display.
func (c *Client) DecodeEvents(events []history.Event) []*DecodedEvent {
	out := make([]*DecodedEvent, len(events))
	for i := range events {
		out[i] = c.DecodeEvent(&events[i])
	}
	return out
}

// UndecodablePayload stands in, in displayed data, for a payload the
// converter could not decode.
type UndecodablePayload struct {
	// Size is the payload's length in bytes.
	Size int `json:"undecodable_payload_bytes"`
	// Error says why it did not decode.
	Error string `json:"error"`
	// EncryptedWithKey names the key the payload is encrypted with when
	// that key is what is missing (the codec lacks it, or there is none).
	EncryptedWithKey string `json:"encrypted_with_key,omitempty"`
}

// DecodePayload decodes an encoded argument or result without knowing its Go
// type, into values encoding/json can write: maps with string keys, slices,
// strings, numbers, booleans, times (in UTC), nil. Structs come back as maps of their
// fields. With the msgpack converter, integers come back as int64 (uint64
// above its range), floats as float64, binary data as strings, and map keys
// of any type as their text.
func (c *Client) DecodePayload(p []byte) (any, error) {
	var v any
	conv := c.conv
	if pc, ok := conv.(*streams.PayloadConverter); ok {
		// Undo the codec here, so the converter's own bytes can be
		// decoded without a type below.
		var err error
		if p, err = pc.Plain(p); err != nil {
			return nil, err
		}
		conv = pc.Inner()
	}
	switch conv.(type) {
	case converter.Msgpack, *converter.Msgpack:
		var err error
		if v, err = decodeMsgpackUntyped(p); err != nil {
			return nil, err
		}
	default:
		if err := conv.Decode(p, &v); err != nil {
			return nil, err
		}
	}
	return jsonable(v), nil
}

// decodeMsgpackUntyped decodes msgpack into plain values. Unlike a decode
// into an any, it accepts maps whose keys are not strings (a map[int]T).
func decodeMsgpackUntyped(p []byte) (any, error) {
	if err := wire.Check(p); err != nil {
		return nil, fmt.Errorf("msgpack: decode payload: %w", err)
	}
	if body, ok := converter.JSONInputBody(p); ok {
		p = body // typed as JSON (wfctl): shown as the value it holds
	}
	dec := msgpack.NewDecoder(bytes.NewReader(p))
	dec.UseLooseInterfaceDecoding(true)
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	v, err := dec.DecodeInterfaceLoose()
	if err != nil {
		return nil, fmt.Errorf("msgpack: decode payload: %w", err)
	}
	return v, nil
}

// DisplayPayload is DecodePayload for display: a payload that does not
// decode becomes an UndecodablePayload saying why.
func (c *Client) DisplayPayload(p []byte) any {
	v, err := c.DecodePayload(p)
	if err != nil {
		u := UndecodablePayload{Size: len(p), Error: err.Error()}
		if knf, ok := errors.AsType[*codec.KeyNotFoundError](err); ok {
			u.EncryptedWithKey = knf.KeyID
			u.Error = fmt.Sprintf("encrypted with key %q", knf.KeyID)
		}
		return u
	}
	return v
}

func (c *Client) displayPayloads(ps [][]byte) []any {
	if len(ps) == 0 {
		return nil
	}
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = c.DisplayPayload(p)
	}
	return out
}

// jsonable rewrites a decoded value so encoding/json can write it: map keys
// become strings, and floats JSON has no number for become strings. Times
// are shown in UTC.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprint(v)
		}
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Sprint(v)
		}
	case time.Time:
		return v.UTC()
	}
	return v
}
