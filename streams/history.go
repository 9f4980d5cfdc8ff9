package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/jetflow/jetflow/history"
)

// RunHistory is a run's history as read from JetStream.
type RunHistory struct {
	// Commits in order.
	Commits []*history.Commit
	// LastSeq is the stream sequence of the last commit read, or the
	// sequence the read started after when it found nothing new. It is the
	// expected sequence for the next commit.
	LastSeq uint64
	// Bytes is the encoded size of the commits read.
	Bytes int
}

// Events returns all events of all commits, in order.
func (h *RunHistory) Events() []history.Event {
	n := 0
	for _, c := range h.Commits {
		n += len(c.Events)
	}
	out := make([]history.Event, 0, n)
	for _, c := range h.Commits {
		out = append(out, c.Events...)
	}
	return out
}

// ReadHistory reads every commit of a run. A run with no commits yet gives
// an empty history with LastSeq 0.
func (b *Backend) ReadHistory(ctx context.Context, instanceID, executionID string) (*RunHistory, error) {
	return b.ReadHistoryAfter(ctx, instanceID, executionID, 0)
}

// ReadHistoryAfter reads the commits of a run stored after stream sequence
// afterSeq: what a cached executor has not seen yet.
func (b *Backend) ReadHistoryAfter(ctx context.Context, instanceID, executionID string, afterSeq uint64) (*RunHistory, error) {
	subject, err := b.historySubject(instanceID, executionID)
	if err != nil {
		return nil, err
	}
	h := &RunHistory{LastSeq: afterSeq}
	last, err := b.readSubject(ctx, b.n.historyStream(), subject, afterSeq+1, bodiesOnly, func(m *storedMsg) error {
		c, err := history.DecodeCommit(m.Data)
		if err != nil {
			return fmt.Errorf("commit %d after sequence %d: %w", len(h.Commits)+1, afterSeq, err)
		}
		h.Commits = append(h.Commits, c)
		h.Bytes += len(m.Data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if last != 0 {
		h.LastSeq = last
	}
	return h, nil
}

func (b *Backend) historySubject(instanceID, executionID string) (string, error) {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return "", err
	}
	if err := CheckExecutionID(executionID); err != nil {
		return "", err
	}
	return b.n.history(inst, executionID), nil
}

// Commit appends one commit to a run's history, on the condition that the
// run's last commit is still the one at expectedLastSeq (0 for a run with
// no commits). It returns the new commit's stream sequence.
//
// When another commit got there first, the error wraps ErrConflict. When the
// outcome is unknown (a timeout), or on a conflict, Commit first looks for
// the commit itself in the history — it may have landed — and reports
// success if it finds it. c.ID names the commit for that purpose; an empty
// ID is filled in.
func (b *Backend) Commit(ctx context.Context, instanceID, executionID string, expectedLastSeq uint64, c *history.Commit) (uint64, error) {
	subject, err := b.historySubject(instanceID, executionID)
	if err != nil {
		return 0, err
	}
	if c == nil || len(c.Events) == 0 {
		return 0, errors.New("streams: commit has no events")
	}
	if c.ID == "" {
		c.ID = nuid.Next()
	}
	if err := b.fitEvents(ctx, instanceID, executionID, c.Events); err != nil {
		return 0, err
	}
	data, err := history.EncodeCommit(c)
	if err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expectedLastSeq, 10))
	if err := b.checkSize("commit", len(data)+len(subject)+64); err != nil {
		return 0, fmt.Errorf("%w (a run this large should continue as new)", err)
	}

	// Sent again after an unanswered attempt: a refusal of the resend is
	// checked against the history below.
	ack, err := b.publishResending(ctx, msg, true)
	if err == nil {
		return ack.Sequence, nil
	}
	conflict := isWrongLastSequence(err)
	if !conflict && !ambiguous(err) {
		return 0, fmt.Errorf("streams: commit to %s: %w", subject, err)
	}
	// The commit may be in the history already: ours, landed despite the
	// timeout, or ours from an earlier try of the same commit (publish
	// sends a commit again when an attempt goes unanswered).
	seq, found, others, ferr := b.findCommit(ctx, subject, expectedLastSeq, c.ID)
	if errors.Is(err, errRetryRefused) {
		// A commit is stored after expectedLastSeq (the retry was refused
		// for it); a read that shows none came from a replica that lags
		// the leader: read again until it shows one.
		deadline := time.Now().Add(b.opts.requestTimeout)
		for ferr == nil && !found && !others && time.Now().Before(deadline) {
			time.Sleep(noStreamRetryWait)
			seq, found, others, ferr = b.findCommit(ctx, subject, expectedLastSeq, c.ID)
		}
	}
	if ferr == nil && found {
		return seq, nil
	}
	// Another commit there and ours not: ours can only ever be stored
	// right after expectedLastSeq, so it never will be.
	if conflict || (ferr == nil && others) {
		return 0, fmt.Errorf("%w (%s, expected last sequence %d): %v", ErrConflict, subject, expectedLastSeq, err)
	}
	return 0, fmt.Errorf("streams: commit to %s: outcome unknown: %w", subject, err)
}

// findCommit looks for the commit with the given ID after afterSeq; others
// reports whether it read other commits there.
func (b *Backend) findCommit(ctx context.Context, subject string, afterSeq uint64, id string) (seq uint64, found, others bool, err error) {
	errFound := errors.New("found")
	_, err = b.readSubject(context.WithoutCancel(ctx), b.n.historyStream(), subject, afterSeq+1, withMetadata, func(m *storedMsg) error {
		c, err := history.DecodeCommit(m.Data)
		if err == nil && c.ID == id {
			seq = m.Seq
			return errFound
		}
		others = true
		return nil
	})
	if errors.Is(err, errFound) {
		return seq, true, false, nil
	}
	return 0, false, others, err
}

// ambiguous reports whether a publish error leaves open whether the message
// was stored.
func ambiguous(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) ||
		errors.Is(err, nats.ErrConnectionReconnecting)
}

// HasHistory reports whether a run has any commit stored: a way to know an
// earlier run that its record no longer lists (InstanceRecord.EarlierRuns).
func (b *Backend) HasHistory(ctx context.Context, instanceID, executionID string) (bool, error) {
	subject, err := b.historySubject(instanceID, executionID)
	if err != nil {
		return false, err
	}
	gctx, cancel := b.bounded(ctx)
	defer cancel()
	_, err = b.history.GetLastMsgForSubject(gctx, subject)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	}
	return false, fmt.Errorf("streams: look up the history of run %q of %q: %w", executionID, instanceID, err)
}

// HistoryEnd is the sequence the next commit of any run will have at the
// least: DeleteHistoryBefore with it removes what is stored now and
// nothing committed later.
func (b *Backend) HistoryEnd(ctx context.Context) (uint64, error) {
	ictx, cancel := b.bounded(ctx)
	defer cancel()
	info, err := b.history.Info(ictx)
	if err != nil {
		return 0, fmt.Errorf("streams: read the history stream's state: %w", err)
	}
	return info.State.LastSeq + 1, nil
}

// DeleteHistoryBefore removes the commits of every run of an instance
// stored before sequence end (from HistoryEnd), and keeps any committed
// since: a run started meanwhile under the same ID keeps its history.
func (b *Backend) DeleteHistoryBefore(ctx context.Context, instanceID string, end uint64) error {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	if err := b.deleteStoredPayloads(ctx, instanceID, end, 0); err != nil {
		return err
	}
	pctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := b.history.Purge(pctx, jetstream.WithPurgeSubject(b.n.historyOfInstance(inst)), jetstream.WithPurgeSequence(end)); err != nil {
		return fmt.Errorf("streams: delete history of %q: %w", instanceID, err)
	}
	return nil
}

// DeleteHistory removes every run's history of an instance (for removing a
// finished instance).
func (b *Backend) DeleteHistory(ctx context.Context, instanceID string) error {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	if err := b.deleteStoredPayloads(ctx, instanceID, 0, 0); err != nil {
		return err
	}
	pctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := b.history.Purge(pctx, jetstream.WithPurgeSubject(b.n.historyOfInstance(inst))); err != nil {
		return fmt.Errorf("streams: delete history of %q: %w", instanceID, err)
	}
	return nil
}
