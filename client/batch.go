package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
)

// BatchFilter selects the instances a batch operation acts on, as
// ListWorkflowInstances filters them.
type BatchFilter struct {
	// Status keeps instances with this status; empty means running, the
	// only status cancel, terminate and signal act on.
	Status streams.Status
	// WorkflowName keeps instances of this workflow ("" for all).
	WorkflowName string
	// SearchAttributes keeps instances that have every one of these
	// pairs, exactly (nil for all); see ListOptions.SearchAttributes.
	SearchAttributes map[string]string
	// IDContains keeps instances whose ID contains it, ignoring case (""
	// for all). Unlike the other filters it reads every registry entry.
	IDContains string
}

// BatchOptions configure a batch operation.
type BatchOptions struct {
	// BatchID names the batch. Running a batch again with the same ID (it
	// was interrupted, its outcome is unknown) acts on each instance once:
	// a signal's ID is derived from the batch ID and the instance, and a
	// run applies a signal ID once; a run is canceled or terminated once
	// however often it is asked. Required: at most MaxBatchIDLength bytes
	// of UTF-8 without control characters.
	BatchID string
	// InFlight bounds how many requests are on the way at once (default
	// 256).
	InFlight int
	// Progress, if set, is called after each instance (from several
	// goroutines, one call at a time).
	Progress func(BatchProgress)
}

// MaxBatchIDLength bounds BatchOptions.BatchID.
const MaxBatchIDLength = 128

// BatchProgress is where a batch operation stands.
type BatchProgress struct {
	// Total is how many instances the filter selected.
	Total int
	// Done were acted on; Skipped had finished meanwhile; Failed could not
	// be reached (the error is in BatchResult.Errors).
	Done, Skipped, Failed int
}

// BatchResult is what a batch operation did.
type BatchResult struct {
	BatchProgress
	// Errors holds the first errors (at most 10), one per failed instance.
	Errors []error
}

const defaultBatchInFlight = 256

// BatchCount is how many instances filter selects: what a batch operation
// with it would act on (a dry run).
func (c *Client) BatchCount(ctx context.Context, filter BatchFilter) (int, error) {
	recs, err := c.batchTargets(ctx, filter)
	return len(recs), err
}

// BatchCancel asks every instance filter selects to cancel, as
// CancelWorkflowInstance does for one.
func (c *Client) BatchCancel(ctx context.Context, filter BatchFilter, opts BatchOptions) (*BatchResult, error) {
	return c.batch(ctx, "batch cancel", filter, opts, func(rec *streams.InstanceRecord) *history.Event {
		return &history.Event{Kind: history.CancelRequested, InboxID: streams.CancelInboxID(rec.ExecutionID), ExecutionID: rec.ExecutionID}
	})
}

// BatchTerminate ends every instance filter selects, as
// TerminateWorkflowInstance does for one, with reason.
func (c *Client) BatchTerminate(ctx context.Context, filter BatchFilter, opts BatchOptions, reason string) (*BatchResult, error) {
	return c.batch(ctx, "batch terminate", filter, opts, func(rec *streams.InstanceRecord) *history.Event {
		return &history.Event{Kind: history.TerminateRequested, InboxID: streams.TerminateInboxID(rec.ExecutionID),
			ExecutionID: rec.ExecutionID, Reason: reason}
	})
}

// BatchSignal sends the signal name with arg to every instance filter
// selects; each instance gets it once per batch ID.
func (c *Client) BatchSignal(ctx context.Context, filter BatchFilter, opts BatchOptions, name string, arg any) (*BatchResult, error) {
	if name == "" {
		return nil, errors.New("client: batch signal: empty signal name")
	}
	payload, err := c.conv.Encode(arg)
	if err != nil {
		return nil, fmt.Errorf("client: batch signal %q: %w", name, err)
	}
	return c.batch(ctx, "batch signal", filter, opts, func(rec *streams.InstanceRecord) *history.Event {
		return &history.Event{Kind: history.SignalReceived, ExecutionID: rec.ExecutionID, Name: name, Args: [][]byte{payload},
			InboxID: streams.CallerSignalInboxID(rec.InstanceID, "batch:"+opts.BatchID)}
	})
}

// batchTargets lists every instance filter selects.
func (c *Client) batchTargets(ctx context.Context, filter BatchFilter) ([]*streams.InstanceRecord, error) {
	status := filter.Status
	if status == "" {
		status = streams.StatusRunning
	}
	var out []*streams.InstanceRecord
	after := ""
	for {
		p, err := c.b.ListInstances(ctx, streams.ListOptions{Status: status, WorkflowName: filter.WorkflowName,
			SearchAttributes: filter.SearchAttributes, IDContains: filter.IDContains, Limit: 10_000, After: after})
		if err != nil {
			return nil, fmt.Errorf("client: batch: %w", err)
		}
		out = append(out, p.Instances...)
		if p.NextCursor == "" {
			return out, nil
		}
		after = p.NextCursor
	}
}

func checkBatchID(id string) error {
	switch {
	case id == "":
		return errors.New("a batch ID is required (re-running with the same ID acts on each instance once)")
	case len(id) > MaxBatchIDLength:
		return fmt.Errorf("batch ID of %d bytes is longer than %d", len(id), MaxBatchIDLength)
	case !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0:
		return fmt.Errorf("batch ID %q is not UTF-8 text without control characters", id)
	}
	return nil
}

// batch lists the instances filter selects and puts the event build makes
// for each into its inbox, opts.InFlight at a time.
func (c *Client) batch(ctx context.Context, what string, filter BatchFilter, opts BatchOptions, build func(*streams.InstanceRecord) *history.Event) (*BatchResult, error) {
	if err := checkBatchID(opts.BatchID); err != nil {
		return nil, fmt.Errorf("client: %s: %w", what, err)
	}
	inFlight := opts.InFlight
	switch {
	case inFlight == 0:
		inFlight = defaultBatchInFlight
	case inFlight < 0:
		return nil, fmt.Errorf("client: %s: in-flight bound %d is negative", what, inFlight)
	}
	recs, err := c.batchTargets(ctx, filter)
	if err != nil {
		return nil, err
	}
	res := &BatchResult{BatchProgress: BatchProgress{Total: len(recs)}}
	var mu sync.Mutex
	record := func(rec *streams.InstanceRecord, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			res.Done++
		case errors.Is(err, ErrInstanceFinished):
			res.Skipped++
		default:
			res.Failed++
			if len(res.Errors) < 10 {
				res.Errors = append(res.Errors, fmt.Errorf("instance %q: %w", rec.InstanceID, err))
			}
		}
		if opts.Progress != nil {
			opts.Progress(res.BatchProgress)
		}
	}
	slots := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for _, rec := range recs {
		if rec.Status != streams.StatusRunning {
			record(rec, fmt.Errorf("%w: %s", ErrInstanceFinished, rec.Status))
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			e := build(rec)
			e.Time = c.now()
			record(rec, c.publishInbox(ctx, rec.Queue, rec.InstanceID, e))
		})
	}
	wg.Wait()
	c.log.Info(what, "batch_id", opts.BatchID, "total", res.Total, "done", res.Done, "skipped", res.Skipped, "failed", res.Failed)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("client: %s %q interrupted after %d of %d instances (run it again with the same batch ID to finish): %w",
			what, opts.BatchID, res.Done+res.Skipped+res.Failed, res.Total, err)
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("client: %s %q: %d of %d instances failed: %w", what, opts.BatchID, res.Failed, res.Total, errors.Join(res.Errors...))
	}
	return res, nil
}
