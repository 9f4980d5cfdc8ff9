package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// RemoveInstance removes a finished instance as rec, read from the
// registry, shows it: the histories of all its runs and its registry entry.
// It is the one removal path: by hand (the client's remove) and by
// retention (WithRetention) both end here.
//
// When the record lists every run (no EarlierRuns), each run's history
// is purged by its exact subject: a run started under the same ID has
// another subject, so nothing of it is touched, and an exact purge is
// cheaper for the server than one by wildcard.
//
// Otherwise a start may reuse the ID at any moment. Its run's commits come after its
// registry update, so RemoveInstance takes the history's end, checks the
// entry is still at rec's revision, then removes only the commits before
// that end (a new run's are after it) and the entry only at that revision.
// An entry that changed gives an error matching ErrRevisionConflict and
// keeps the new run; an entry already gone is no error. A removal cut short
// leaves a finished entry that can be removed again, never history nobody
// can see.
//
// beforeDelete, if not nil, runs after the checks, just before the
// deletes (tests race a restart against the removal with it).
func (b *Backend) RemoveInstance(ctx context.Context, rec *InstanceRecord, beforeDelete func()) error {
	id := rec.InstanceID
	if !rec.Status.Finished() || rec.Status == StatusContinuedAsNew {
		return fmt.Errorf("streams: remove instance %q: it is %s, not finished", id, rec.Status)
	}
	if rec.EarlierRuns == 0 {
		return b.removeListedRuns(ctx, rec, beforeDelete)
	}
	end, err := b.HistoryEnd(ctx)
	if err != nil {
		return fmt.Errorf("streams: remove instance %q: %w", id, err)
	}
	changed := func(now *InstanceRecord) error {
		return fmt.Errorf("streams: remove instance %q: %w: it changed while being removed (now run %q, %s); its entry is kept",
			id, ErrRevisionConflict, now.ExecutionID, now.Status)
	}
	now, err := b.GetInstance(ctx, id)
	switch {
	case errors.Is(err, ErrInstanceNotFound):
		return nil // removed by someone else meanwhile
	case err != nil:
		return fmt.Errorf("streams: remove instance %q: %w", id, err)
	case now.Revision != rec.Revision:
		return changed(now)
	}
	if beforeDelete != nil {
		beforeDelete()
	}
	if err := b.DeleteHistoryBefore(ctx, id, end); err != nil {
		return fmt.Errorf("streams: remove instance %q: %w", id, err)
	}
	if err := b.deleteInstanceAt(ctx, id, rec.Revision, rec); err != nil {
		if errors.Is(err, ErrRevisionConflict) {
			if now, gerr := b.GetInstance(ctx, id); gerr == nil {
				return changed(now)
			}
		}
		return fmt.Errorf("streams: remove instance %q: %w", id, err)
	}
	return nil
}

// removeListedRuns removes an instance whose record lists all its runs:
// each run's history by its own subject, then the entry at rec's
// revision.
func (b *Backend) removeListedRuns(ctx context.Context, rec *InstanceRecord, beforeDelete func()) error {
	id := rec.InstanceID
	inst, err := EncodeInstanceID(id)
	if err != nil {
		return err
	}
	if beforeDelete != nil {
		beforeDelete()
	}
	// The objects of offloaded payloads first: they are found through the
	// references in the history purged next.
	if err := b.deleteStoredPayloads(ctx, id, 0, rec.Revision); err != nil {
		return fmt.Errorf("streams: remove instance %q: %w", id, err)
	}
	for _, run := range append(slices.Clone(rec.Runs), rec.ExecutionID) {
		if err := CheckExecutionID(run); err != nil {
			return fmt.Errorf("streams: remove instance %q: %w", id, err)
		}
		pctx, cancel := b.bounded(ctx)
		err := b.history.Purge(pctx, jetstream.WithPurgeSubject(b.n.history(inst, run)))
		cancel()
		if err != nil {
			return fmt.Errorf("streams: remove instance %q: delete the history of run %q: %w", id, run, err)
		}
	}
	err = b.deleteInstanceAt(ctx, id, rec.Revision, rec)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRevisionConflict):
		now, gerr := b.GetInstance(ctx, id)
		switch {
		case errors.Is(gerr, ErrInstanceNotFound):
			return nil // removed by someone else meanwhile
		case gerr == nil:
			return fmt.Errorf("streams: remove instance %q: %w: it changed while being removed (now run %q, %s); its entry is kept",
				id, ErrRevisionConflict, now.ExecutionID, now.Status)
		}
	}
	return fmt.Errorf("streams: remove instance %q: %w", id, err)
}
