package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jetflow/jetflow/history"
)

// A run's life as its instance's registry record sees it. Every change of
// a record's run or status is one of the functions below, used by the
// client (start), the worker (child start, continue-as-new, end) and
// nowhere else, so the record's fields move together.

// MaxListedRuns is how many earlier runs a record lists in Runs, the most
// recent. An instance may continue as new for ever: older runs are only
// counted (EarlierRuns) so the record stays small; their histories are
// kept, and a run ID not listed is found by its history.
const MaxListedRuns = 100

// NewRunRecord is the record of an instance whose first run is the one
// start begins (start.ExecutionID, start.Name, start.Queue, start.Parent).
func NewRunRecord(instanceID string, start *history.Event) *InstanceRecord {
	r := &InstanceRecord{InstanceID: instanceID}
	r.beginRun(start)
	return r
}

// StartRun moves the record of a finished instance on to the run start
// begins: its ID is reused. The finished run becomes an earlier run, and
// everything about it (result, failure, history size) is cleared.
func (r *InstanceRecord) StartRun(start *history.Event) {
	r.pushRun(r.ExecutionID)
	r.beginRun(start)
}

func (r *InstanceRecord) beginRun(start *history.Event) {
	r.ExecutionID = start.ExecutionID
	r.WorkflowName = start.Name
	r.Queue = start.Queue
	r.Parent = start.Parent
	r.Status = StatusRunning
	r.CreatedAt, r.UpdatedAt = start.Time, start.Time
	r.FinishedAt = time.Time{}
	r.Result, r.Failure, r.ResultInHistory = nil, nil, false
	r.HistoryEvents = 0
	r.Memo = start.Memo
	r.StartAt = time.Time{}
	if start.Run != nil && start.Run.StartDelay > 0 {
		r.StartAt = start.StartTime()
	}
}

// ContinueTo moves the record of a run that continued as new on to the next
// run. The instance stays running; CreatedAt stays the instance's.
func (r *InstanceRecord) ContinueTo(next string, now time.Time) {
	r.pushRun(r.ExecutionID)
	r.ExecutionID = next
	r.UpdatedAt = now
	r.StartAt = time.Time{}
	r.HistoryEvents = 0
}

// Finish records the end of the current run by its final event (not a
// continue-as-new: see ContinueTo). A result or failure too large for the
// record is left to the run's history (slim): ResultInHistory says so.
func (r *InstanceRecord) Finish(final *history.Event, now time.Time, slim bool) {
	r.Status = StatusOf(final.Kind)
	r.UpdatedAt, r.FinishedAt = now, now
	r.HistoryEvents = int(final.ID)
	r.Result, r.Failure, r.ResultInHistory = final.Result, final.RunFailure(), false
	if slim {
		r.Result, r.ResultInHistory = nil, len(final.Result) > 0
		r.Failure = r.Failure.Cut()
	}
}

// pushRun adds run to the earlier runs, keeping the newest MaxListedRuns.
func (r *InstanceRecord) pushRun(run string) {
	runs := append(slices.Clip(r.Runs), run)
	if extra := len(runs) - MaxListedRuns; extra > 0 {
		r.EarlierRuns += extra
		runs = slices.Clone(runs[extra:])
	}
	r.Runs = runs
}

// RunCount is how many runs the instance has had, the current one included.
func (r *InstanceRecord) RunCount() int { return r.EarlierRuns + len(r.Runs) + 1 }

// Listed reports whether run is the current run or one of the listed
// earlier runs. A run that is neither may still be an older run of an
// instance with EarlierRuns > 0: its history tells.
func (r *InstanceRecord) Listed(run string) bool {
	return run == r.ExecutionID || slices.Contains(r.Runs, run)
}

// maxRegisterAttempts bounds how often RegisterRun retries when the record
// of a finished instance changes between its read and its update.
const maxRegisterAttempts = 16

// RegisterRun writes the registry record of the run start begins
// (start.ExecutionID): a new record (NewRunRecord), or the record of a
// finished instance moved on to the new run (StartRun), read again and
// retried when someone else changes it in between. It returns the record
// as written and the run the ID was reused from ("" for a new instance).
//
// A record that already names the run (a start published again after a
// crash) is returned as it is. When a running instance holds the ID, the
// error matches ErrInstanceExists and the record returned is that
// instance's.
func (b *Backend) RegisterRun(ctx context.Context, instanceID string, start *history.Event) (rec *InstanceRecord, reused string, err error) {
	return b.RegisterRunWithAttributes(ctx, instanceID, start, nil)
}

// RegisterRunWithAttributes is RegisterRun for a run that gives the
// instance search attributes (validated by CheckSearchAttributes; pairs
// with an empty value are left out). A reused ID's record takes them in
// place of the attributes of its finished run.
func (b *Backend) RegisterRunWithAttributes(ctx context.Context, instanceID string, start *history.Event,
	attrs map[string]string) (rec *InstanceRecord, reused string, err error) {
	if err := CheckSearchAttributes(attrs); err != nil {
		return nil, "", fmt.Errorf("streams: register a run of instance %q: %w", instanceID, err)
	}
	attrs = MergeSearchAttributes(nil, attrs)
	for range maxRegisterAttempts {
		rec := NewRunRecord(instanceID, start)
		rec.SearchAttributes = attrs
		if _, err := b.CreateInstance(ctx, rec); err == nil {
			return rec, "", nil
		} else if !errors.Is(err, ErrInstanceExists) {
			return nil, "", err
		}
		// From the leader: a replica behind it may still show the run
		// that finished just before this start, as running.
		existing, err := b.GetInstanceLatest(ctx, instanceID)
		if errors.Is(err, ErrInstanceNotFound) {
			continue // removed in between: create it again
		}
		if err != nil {
			return nil, "", err
		}
		if existing.Listed(start.ExecutionID) {
			return existing, "", nil // registered by an earlier publish of this start
		}
		if existing.Status == StatusRunning || existing.Status == StatusContinuedAsNew {
			return existing, "", fmt.Errorf("%w: %q (workflow %s, run %q, %s)", ErrInstanceExists,
				instanceID, existing.WorkflowName, existing.ExecutionID, existing.Status)
		}
		previous := existing.ExecutionID
		existing.StartRun(start)
		existing.SearchAttributes = attrs
		_, err = b.UpdateInstance(ctx, existing, existing.Revision)
		if err == nil {
			return existing, previous, nil
		}
		if !errors.Is(err, ErrRevisionConflict) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("streams: register a run of instance %q: its registry entry kept changing over %d attempts", instanceID, maxRegisterAttempts)
}
