package client

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/crashpoint"
	"github.com/jetflow/jetflow/internal/cron"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// Schedule errors (match with errors.Is).
var (
	// ErrScheduleNotFound means the namespace has no schedule of the ID.
	ErrScheduleNotFound = streams.ErrScheduleNotFound
	// ErrScheduleAlreadyExists means CreateSchedule was given an ID in use.
	ErrScheduleAlreadyExists = streams.ErrScheduleExists
)

// ScheduleSpec says when a schedule fires: on a cron expression or every
// interval (exactly one of Cron and Every).
type ScheduleSpec struct {
	// Cron is a 5-field expression (minute hour day-of-month month
	// day-of-week) or a 6-field one with seconds first; names (JAN, MON),
	// ranges, steps, lists and @daily-style descriptors are accepted.
	Cron string
	// Every fires at every multiple of the interval since the Unix epoch,
	// shifted by Offset (Every: time.Hour, Offset: 5*time.Minute fires at
	// five past every hour). At least a second.
	Every  time.Duration
	Offset time.Duration
	// TimeZone is the IANA zone a Cron expression is read in (empty: UTC).
	TimeZone string
	// StartAt and EndAt bound the fires (zero: unbounded).
	StartAt, EndAt time.Time
	// Jitter delays each fire by a random-looking but fixed amount below
	// it, to spread schedules that share a time. The instance ID keeps the
	// nominal time.
	Jitter time.Duration
}

// OverlapPolicy says what a fire does while the instance of an earlier fire
// is still running.
type OverlapPolicy int

// Overlap policies.
const (
	// OverlapSkip (the default) records the fire as skipped.
	OverlapSkip OverlapPolicy = iota
	// OverlapBufferOne starts the fire once the running instance ends; one
	// fire waits at most, the others are skipped.
	OverlapBufferOne
	// OverlapAllowAll starts the fire anyway.
	OverlapAllowAll
	// OverlapCancelOther asks the running instance to cancel and starts
	// the fire at once.
	OverlapCancelOther
	// OverlapTerminateOther terminates the running instance and starts the
	// fire.
	OverlapTerminateOther
)

var overlapNames = []string{"skip", "buffer_one", "allow_all", "cancel_other", "terminate_other"}

// String is the policy's name as stored and as wfctl takes it.
func (p OverlapPolicy) String() string {
	if p < 0 || int(p) >= len(overlapNames) {
		return fmt.Sprintf("OverlapPolicy(%d)", int(p))
	}
	return overlapNames[p]
}

// ParseOverlapPolicy reads a policy's name ("skip", "buffer_one",
// "allow_all", "cancel_other", "terminate_other"; "" is skip).
func ParseOverlapPolicy(s string) (OverlapPolicy, error) {
	if s == "" {
		return OverlapSkip, nil
	}
	norm := strings.ReplaceAll(strings.ToLower(s), "-", "_")
	if i := slices.Index(overlapNames, norm); i >= 0 {
		return OverlapPolicy(i), nil
	}
	return 0, fmt.Errorf("unknown overlap policy %q (want one of %s)", s, strings.Join(overlapNames, ", "))
}

// DefaultCatchupWindow is how late a fire may be handled (say, after no
// worker ran for a while) and still start its instance, when
// ScheduleOptions.CatchupWindow is zero.
const DefaultCatchupWindow = time.Hour

// ScheduleOptions describe a schedule: when it fires and what each fire
// starts.
type ScheduleOptions struct {
	// ScheduleID names the schedule (at most streams.MaxScheduleIDLength
	// bytes). Each fire starts the instance <ScheduleID>-<fire time in
	// RFC 3339, UTC>.
	ScheduleID string
	Spec       ScheduleSpec
	// Workflow is a registered workflow function or its name; Args are
	// its arguments, encoded once when the schedule is created.
	Workflow any
	Args     []any
	// Queue is the queue the instances run on (empty: "default").
	Queue string
	// Overlap applies when a fire comes while the previous fire's
	// instance is running.
	Overlap OverlapPolicy
	// CatchupWindow is how late a fire may be and still start (zero:
	// DefaultCatchupWindow). Fires missed by more, while no worker ran,
	// are counted as missed.
	CatchupWindow time.Duration
	// Paused creates the schedule paused, with Note as the reason.
	Paused bool
	Note   string
}

// ScheduleFire is one fire of a schedule.
type ScheduleFire struct {
	// FireTime is the nominal time (the spec's, before jitter), or the
	// time of a trigger.
	FireTime time.Time
	// InstanceID is the instance the fire started ("" if none).
	InstanceID string
	// Kind is "scheduled", "trigger" or "backfill".
	Kind string
	// Outcome is "started", "skipped", "missed" or "buffered"; Reason
	// says why a fire did not start.
	Outcome string
	Reason  string
	// HandledAt is when a worker handled the fire.
	HandledAt time.Time
	// Status is the instance's status now (empty when none or removed).
	Status streams.Status
}

// ScheduleDescription is a schedule as it stands.
type ScheduleDescription struct {
	ScheduleID    string
	Spec          ScheduleSpec
	Workflow      string
	Queue         string
	Overlap       OverlapPolicy
	CatchupWindow time.Duration
	Paused        bool
	Note          string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// NextFires are the next nominal fire times (up to 5; none when
	// paused or ended).
	NextFires []time.Time
	// RecentFires are the latest fires handled, oldest first (at most
	// streams.MaxRecentFires), with their instances' statuses now.
	RecentFires []ScheduleFire
	// Fires, Missed and Skipped count the fires handled, those that came
	// later than the catch-up window, and those skipped by the overlap
	// policy.
	Fires, Missed, Skipped int64
}

// spec is a ScheduleSpec ready to compute fires.
type spec struct {
	expr          *cron.Expr
	loc           *time.Location
	every, offset time.Duration
	start, end    time.Time
	jitter        time.Duration
}

func compileSpec(s ScheduleSpec) (*spec, error) {
	sp := &spec{every: s.Every, offset: s.Offset, start: s.StartAt, end: s.EndAt, jitter: s.Jitter, loc: time.UTC}
	switch {
	case s.Cron != "" && s.Every != 0:
		return nil, errors.New("give Cron or Every, not both")
	case s.Cron == "" && s.Every == 0:
		return nil, errors.New("give Cron or Every")
	case s.Every != 0 && s.Every < time.Second:
		return nil, fmt.Errorf("Every %s is shorter than a second", s.Every)
	case s.Offset < 0 || (s.Every != 0 && s.Offset >= s.Every):
		return nil, fmt.Errorf("Offset %s must be at least 0 and shorter than Every", s.Offset)
	case s.Offset != 0 && s.Every == 0:
		return nil, errors.New("Offset applies to Every only")
	case s.Jitter < 0:
		return nil, fmt.Errorf("negative Jitter %s", s.Jitter)
	case !s.EndAt.IsZero() && !s.EndAt.After(s.StartAt):
		return nil, errors.New("EndAt is not after StartAt")
	}
	if s.TimeZone != "" {
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", s.TimeZone, err)
		}
		sp.loc = loc
	}
	if s.Cron != "" {
		e, err := cron.Parse(s.Cron)
		if err != nil {
			return nil, err
		}
		sp.expr = e
	}
	return sp, nil
}

// next is the first nominal fire strictly after t, or zero when the spec
// has no more.
func (sp *spec) next(t time.Time) time.Time {
	if !sp.start.IsZero() && t.Before(sp.start) {
		t = sp.start.Add(-time.Nanosecond) // the start itself may fire
	}
	var n time.Time
	if sp.expr != nil {
		n = sp.expr.Next(t, sp.loc)
	} else {
		base := t.UnixNano() - int64(sp.offset)
		k := base / int64(sp.every)
		if base < 0 && base%int64(sp.every) != 0 {
			k-- // floor for times before the epoch
		}
		n = time.Unix(0, (k+1)*int64(sp.every)+int64(sp.offset))
	}
	if n.IsZero() || (!sp.end.IsZero() && n.After(sp.end)) {
		return time.Time{}
	}
	return n.UTC()
}

// armAt is when the server fires the nominal time fire: fire plus a jitter
// derived from the schedule and the fire, so arming twice arms alike.
func (sp *spec) armAt(id string, fire time.Time) time.Time {
	if sp.jitter <= 0 {
		return fire
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte(fire.UTC().Format(time.RFC3339Nano)))
	return fire.Add(time.Duration(h.Sum64() % uint64(sp.jitter)))
}

func specOf(r *streams.ScheduleRecord) ScheduleSpec {
	return ScheduleSpec{Cron: r.Cron, Every: r.Every, Offset: r.Offset, TimeZone: r.TimeZone,
		StartAt: r.StartAt, EndAt: r.EndAt, Jitter: r.Jitter}
}

func setSpec(r *streams.ScheduleRecord, s ScheduleSpec) {
	r.Cron, r.Every, r.Offset, r.TimeZone = s.Cron, s.Every, s.Offset, s.TimeZone
	r.StartAt, r.EndAt, r.Jitter = s.StartAt.UTC(), s.EndAt.UTC(), s.Jitter
	if s.StartAt.IsZero() {
		r.StartAt = time.Time{}
	}
	if s.EndAt.IsZero() {
		r.EndAt = time.Time{}
	}
}

// ScheduleInstanceID is the instance a schedule's fire at the nominal time
// fire starts: <scheduleID>-<fire in RFC 3339, UTC>.
func ScheduleInstanceID(scheduleID string, fire time.Time) string {
	return scheduleID + "-" + fire.UTC().Format(time.RFC3339Nano)
}

// buildRecord checks opts and makes the record's spec and action.
func (c *Client) buildRecord(opts ScheduleOptions, r *streams.ScheduleRecord) (*spec, error) {
	if _, err := streams.EncodeScheduleID(opts.ScheduleID); err != nil {
		return nil, err
	}
	sp, err := compileSpec(opts.Spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: spec: %w", opts.ScheduleID, err)
	}
	if opts.Overlap < OverlapSkip || opts.Overlap > OverlapTerminateOther {
		return nil, fmt.Errorf("schedule %q: unknown overlap policy %d", opts.ScheduleID, opts.Overlap)
	}
	if opts.CatchupWindow < 0 {
		return nil, fmt.Errorf("schedule %q: negative catch-up window", opts.ScheduleID)
	}
	name, err := workflowName(opts.Workflow, opts.Args)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", opts.ScheduleID, err)
	}
	queue := opts.Queue
	if queue == "" {
		queue = streams.DefaultQueue
	}
	if _, err := streams.EncodeQueue(queue); err != nil {
		return nil, fmt.Errorf("schedule %q: %w", opts.ScheduleID, err)
	}
	args, err := call.EncodeArgs(c.conv, opts.Args)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", opts.ScheduleID, err)
	}
	window := opts.CatchupWindow
	if window == 0 {
		window = DefaultCatchupWindow
	}
	r.ScheduleID = opts.ScheduleID
	setSpec(r, opts.Spec)
	r.Workflow, r.Queue, r.Args = name, queue, args
	r.Overlap, r.CatchupWindow = opts.Overlap.String(), window
	return sp, nil
}

// CreateSchedule creates a schedule and arms its first fire. An ID in use
// gives ErrScheduleAlreadyExists. Fires need a worker of the namespace
// running (any queue's): the worker that takes a fire starts its instance.
func (c *Client) CreateSchedule(ctx context.Context, opts ScheduleOptions) error {
	now := c.now()
	r := &streams.ScheduleRecord{Paused: opts.Paused, Note: opts.Note, CreatedAt: now, UpdatedAt: now}
	sp, err := c.buildRecord(opts, r)
	if err != nil {
		return fmt.Errorf("client: create schedule: %w", err)
	}
	if !r.Paused {
		r.NextFire = sp.next(now)
		if r.NextFire.IsZero() {
			return fmt.Errorf("client: create schedule %q: its spec never fires after %s", opts.ScheduleID, now.Format(time.RFC3339))
		}
	}
	if err := c.b.CreateSchedule(ctx, r); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	// A crash here leaves a record without its message schedule: a
	// describe, a worker's start or the next change arms it (reconcile).
	if err := c.arm(ctx, r, sp); err != nil {
		return fmt.Errorf("client: schedule %q is created, but arming its first fire failed (describing it arms it): %w", r.ScheduleID, err)
	}
	c.log.Debug("created schedule", "schedule_id", r.ScheduleID, logkey.Workflow, r.Workflow)
	return nil
}

// arm makes the message schedule agree with the record: armed for
// NextFire, or none.
func (c *Client) arm(ctx context.Context, r *streams.ScheduleRecord, sp *spec) error {
	if r.Paused || r.NextFire.IsZero() {
		return c.b.DisarmSchedule(ctx, r.ScheduleID)
	}
	return c.b.ArmSchedule(ctx, r.ScheduleID, r.NextFire, sp.armAt(r.ScheduleID, r.NextFire))
}

// reconcile checks that the message schedule is armed as the record says
// and fixes it if not (a crash between writing the record and arming).
func (c *Client) reconcile(ctx context.Context, r *streams.ScheduleRecord) error {
	sp, err := compileSpec(specOf(r))
	if err != nil {
		return fmt.Errorf("schedule %q: stored spec: %w", r.ScheduleID, err)
	}
	armed, ok, err := c.b.ArmedFire(ctx, r.ScheduleID)
	if err != nil {
		return err
	}
	want := !r.Paused && !r.NextFire.IsZero()
	switch {
	case want && ok && armed.Equal(r.NextFire), !want && !ok:
		return nil
	case want && !ok && !r.NextFire.After(c.now()):
		// Armed for a time passed: the fire is likely waiting in the
		// queue. Arming again is harmless (the fire after a duplicate is
		// recognised) and heals a fire that was never armed.
	}
	c.log.Info("schedule and its message schedule disagreed; fixed", "schedule_id", r.ScheduleID,
		"next_fire", r.NextFire, "armed", ok, "armed_fire", armed)
	return c.arm(ctx, r, sp)
}

// ReconcileSchedules checks every schedule of the namespace against its
// message schedule and fixes those that disagree (workers run it when they
// start).
func (c *Client) ReconcileSchedules(ctx context.Context) error {
	recs, err := c.b.ListSchedules(ctx)
	if err != nil {
		return fmt.Errorf("client: reconcile schedules: %w", err)
	}
	var errs []error
	for _, r := range recs {
		if err := c.reconcile(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// updateSchedule reads, changes and writes a record, again on a conflict.
func (c *Client) updateSchedule(ctx context.Context, id string, change func(r *streams.ScheduleRecord) error) (*streams.ScheduleRecord, error) {
	for attempt := 0; ; attempt++ {
		r, err := c.b.GetSchedule(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := change(r); err != nil {
			return nil, err
		}
		r.UpdatedAt = c.now()
		err = c.b.UpdateSchedule(ctx, r)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, streams.ErrRevisionConflict) || attempt >= 20 {
			return nil, err
		}
	}
}

// PauseSchedule stops a schedule's fires (its record and recent fires
// stay); note says why. Pausing a paused schedule changes only the note.
func (c *Client) PauseSchedule(ctx context.Context, id, note string) error {
	r, err := c.updateSchedule(ctx, id, func(r *streams.ScheduleRecord) error {
		r.Paused, r.Note, r.NextFire = true, note, time.Time{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("client: pause schedule: %w", err)
	}
	if err := c.b.DisarmSchedule(ctx, r.ScheduleID); err != nil {
		return fmt.Errorf("client: schedule %q is paused, but its message schedule stays until a describe or worker start removes it: %w", id, err)
	}
	return nil
}

// UnpauseSchedule resumes a paused schedule from its next fire after now
// (fires of the pause are not caught up); note replaces the note.
func (c *Client) UnpauseSchedule(ctx context.Context, id, note string) error {
	var sp *spec
	r, err := c.updateSchedule(ctx, id, func(r *streams.ScheduleRecord) error {
		var err error
		if sp, err = compileSpec(specOf(r)); err != nil {
			return err
		}
		if r.Paused {
			r.NextFire = sp.next(c.now())
		}
		r.Paused, r.Note = false, note
		return nil
	})
	if err != nil {
		return fmt.Errorf("client: unpause schedule: %w", err)
	}
	if err := c.arm(ctx, r, sp); err != nil {
		return fmt.Errorf("client: schedule %q is unpaused, but arming it failed (describing it arms it): %w", id, err)
	}
	return nil
}

// UpdateSchedule replaces a schedule's spec, action, overlap policy and
// catch-up window with those of opts (opts.ScheduleID names it; Paused and
// Note are left as they are: see PauseSchedule). Its recent fires stay;
// the next fire is the new spec's first after now.
func (c *Client) UpdateSchedule(ctx context.Context, opts ScheduleOptions) error {
	var sp *spec
	r, err := c.updateSchedule(ctx, opts.ScheduleID, func(r *streams.ScheduleRecord) error {
		var err error
		if sp, err = c.buildRecord(opts, r); err != nil {
			return err
		}
		r.NextFire = time.Time{}
		if !r.Paused {
			r.NextFire = sp.next(c.now())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("client: update schedule: %w", err)
	}
	if err := c.arm(ctx, r, sp); err != nil {
		return fmt.Errorf("client: schedule %q is updated, but arming it failed (describing it arms it): %w", opts.ScheduleID, err)
	}
	return nil
}

// DeleteSchedule removes a schedule and its message schedule. Instances it
// started are left alone.
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	if _, err := c.b.GetSchedule(ctx, id); err != nil {
		return fmt.Errorf("client: delete schedule: %w", err)
	}
	// The record first: a fire that finds no record is dropped, so a crash
	// between the two leaves at most one harmless fire.
	if err := c.b.DeleteSchedule(ctx, id); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if err := c.b.DisarmSchedule(ctx, id); err != nil {
		return fmt.Errorf("client: schedule %q is deleted, but removing its message schedule failed (its one fire is dropped): %w", id, err)
	}
	return nil
}

// TriggerSchedule fires a schedule once now, under its overlap policy,
// whether or not it is paused. The instance is <id>-<now in RFC 3339 with
// nanoseconds>.
func (c *Client) TriggerSchedule(ctx context.Context, id string) error {
	if _, err := c.b.GetSchedule(ctx, id); err != nil {
		return fmt.Errorf("client: trigger schedule: %w", err)
	}
	now := c.now().UTC()
	f := streams.ScheduleFireMessage{ScheduleID: id, FireTime: now, Kind: "trigger"}
	if err := c.b.PublishScheduleFire(ctx, f, "trig:"+id+":"+now.Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return nil
}

// ScheduleBackfill asks for the fires a schedule's spec names in
// [Start, End) to run now, under Overlap (zero: OverlapSkip), whatever the
// schedule's state (paused, or StartAt/EndAt not covering them).
type ScheduleBackfill struct {
	Start, End time.Time
	Overlap    OverlapPolicy
}

// MaxBackfillFires bounds the fires of one BackfillSchedule call.
const MaxBackfillFires = 10000

// BackfillSchedule publishes the fires of a past time range. Each starts
// <id>-<its nominal time>, so a fire that already ran (or a backfill sent
// twice) starts nothing again. It returns how many fires it sent.
func (c *Client) BackfillSchedule(ctx context.Context, id string, bf ScheduleBackfill) (int, error) {
	r, err := c.b.GetSchedule(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("client: backfill schedule: %w", err)
	}
	s := specOf(r)
	s.StartAt, s.EndAt = time.Time{}, time.Time{}
	sp, err := compileSpec(s)
	if err != nil {
		return 0, fmt.Errorf("client: backfill schedule %q: %w", id, err)
	}
	if !bf.End.After(bf.Start) {
		return 0, fmt.Errorf("client: backfill schedule %q: End is not after Start", id)
	}
	var fires []time.Time
	for t := sp.next(bf.Start.Add(-time.Nanosecond)); !t.IsZero() && t.Before(bf.End); t = sp.next(t) {
		if len(fires) == MaxBackfillFires {
			return 0, fmt.Errorf("client: backfill schedule %q: the range holds more than %d fires", id, MaxBackfillFires)
		}
		fires = append(fires, t)
	}
	for i, t := range fires {
		f := streams.ScheduleFireMessage{ScheduleID: id, FireTime: t, Kind: "backfill", Overlap: bf.Overlap.String()}
		if err := c.b.PublishScheduleFire(ctx, f, "bf:"+id+":"+t.Format(time.RFC3339Nano)); err != nil {
			return i, fmt.Errorf("client: backfill schedule %q: %w", id, err)
		}
	}
	return len(fires), nil
}

// DescribeSchedule returns a schedule's state: paused or not, its next
// fires and its recent fires with their instances' statuses. It also
// checks that the message schedule agrees with the record and fixes it if
// a crash left them apart.
func (c *Client) DescribeSchedule(ctx context.Context, id string) (*ScheduleDescription, error) {
	r, err := c.b.GetSchedule(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("client: describe schedule: %w", err)
	}
	if err := c.reconcile(ctx, r); err != nil {
		c.log.Warn("reconciling a schedule failed", "schedule_id", id, logkey.Err, err)
	}
	d := c.scheduleDescription(r)
	for i := range d.RecentFires {
		f := &d.RecentFires[i]
		if f.InstanceID == "" {
			continue
		}
		if rec, err := c.b.GetInstance(ctx, f.InstanceID); err == nil {
			f.Status = rec.Status
		}
	}
	return d, nil
}

// ListSchedules returns every schedule of the namespace, ordered by ID,
// without instance statuses (DescribeSchedule has those).
func (c *Client) ListSchedules(ctx context.Context) ([]*ScheduleDescription, error) {
	recs, err := c.b.ListSchedules(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	out := make([]*ScheduleDescription, len(recs))
	for i, r := range recs {
		out[i] = c.scheduleDescription(r)
	}
	slices.SortFunc(out, func(a, b *ScheduleDescription) int { return strings.Compare(a.ScheduleID, b.ScheduleID) })
	return out, nil
}

func (c *Client) scheduleDescription(r *streams.ScheduleRecord) *ScheduleDescription {
	overlap, _ := ParseOverlapPolicy(r.Overlap)
	d := &ScheduleDescription{
		ScheduleID: r.ScheduleID, Spec: specOf(r), Workflow: r.Workflow, Queue: r.Queue,
		Overlap: overlap, CatchupWindow: r.CatchupWindow, Paused: r.Paused, Note: r.Note,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Fires: r.Fires, Missed: r.Missed, Skipped: r.Skipped,
	}
	if sp, err := compileSpec(d.Spec); err == nil && !r.NextFire.IsZero() && !r.Paused {
		for t := r.NextFire; !t.IsZero() && len(d.NextFires) < 5; t = sp.next(t) {
			d.NextFires = append(d.NextFires, t)
		}
	}
	for _, f := range r.RecentFires {
		d.RecentFires = append(d.RecentFires, ScheduleFire{FireTime: f.FireTime, InstanceID: f.InstanceID,
			Kind: f.Kind, Outcome: f.Outcome, Reason: f.Reason, HandledAt: f.HandledAt})
	}
	return d
}

// Fire outcomes as recorded.
const (
	fireStarted  = "started"
	fireSkipped  = "skipped"
	fireMissed   = "missed"
	fireBuffered = "buffered"
)

// bufferedRetry is how soon a buffered fire looks again whether the
// instance it waits for has ended.
const bufferedRetry = 500 * time.Millisecond

// HandleScheduleFire does what a fire asks: it applies the overlap policy,
// starts the fire's instance, records the fire in the schedule and arms the
// next fire. Workers call it for each message of the schedule consumer;
// retry > 0 means hand the message back for that long (a buffered fire),
// else acknowledge it. An error means hand it back to try again.
//
// At most one instance per fire: its ID is derived from the nominal time,
// a fire whose instance exists already (in any state) starts nothing, and
// the record's LastFire makes a scheduled fire that comes twice count once.
func (c *Client) HandleScheduleFire(ctx context.Context, f streams.ScheduleFireMessage) (retry time.Duration, err error) {
	for attempt := 0; ; attempt++ {
		retry, err = c.handleFire(ctx, f)
		if !errors.Is(err, streams.ErrRevisionConflict) || attempt >= 10 {
			return retry, err
		}
	}
}

func (c *Client) handleFire(ctx context.Context, f streams.ScheduleFireMessage) (time.Duration, error) {
	r, err := c.b.GetSchedule(ctx, f.ScheduleID)
	if errors.Is(err, streams.ErrScheduleNotFound) {
		return 0, nil // deleted: the fire is dropped
	}
	if err != nil {
		return 0, err
	}
	sp, err := compileSpec(specOf(r))
	if err != nil {
		c.log.Error("schedule has a spec that does not compile; its fire is dropped", "schedule_id", r.ScheduleID, logkey.Err, err)
		return 0, nil
	}
	now := c.now()
	fire := f.FireTime.UTC()
	buffered := !r.Buffered.IsZero() && r.Buffered.Equal(fire)
	scheduled := f.Kind == "scheduled" && !buffered
	if scheduled {
		// Only the fire the record armed counts: an earlier one is a
		// duplicate, one of a spec since changed or of a pause is stale.
		if r.Paused || !fire.Equal(r.NextFire) || !fire.After(r.LastFire) {
			return 0, c.healArm(ctx, r, sp)
		}
	}
	overlap, _ := ParseOverlapPolicy(r.Overlap)
	if f.Kind == "backfill" {
		overlap, _ = ParseOverlapPolicy(f.Overlap)
	}
	id := ScheduleInstanceID(r.ScheduleID, fire)
	rec := streams.ScheduleFire{FireTime: fire, Kind: f.Kind, HandledAt: now}
	if buffered {
		rec.Kind = "buffered"
	}
	retry := time.Duration(0)

	// Only a scheduled fire can be missed: a trigger is now, and a backfill
	// asks for past fires on purpose (however old).
	late := f.Kind == "scheduled" && now.Sub(fire) > r.CatchupWindow
	// An earlier delivery of this fire may have started its instance and
	// died before recording it. Look it up first when that can be (the
	// message was delivered before), or when the fire is late (its
	// instance, if any, is then recorded as started, not missed). A first
	// delivery goes straight to the start: the start is a create-only
	// registry write, which tells as well that the instance exists.
	exists := false
	if f.Redelivered || late {
		existing, gerr := c.b.GetInstance(ctx, id)
		switch {
		case gerr == nil:
			// Started by an earlier delivery that did not get to record
			// it: record it now, start nothing new (but publish its start
			// again if that delivery died before publishing it).
			if err := c.healScheduledStart(ctx, r, existing, now); err != nil {
				return 0, err
			}
			exists = true
		case !errors.Is(gerr, streams.ErrInstanceNotFound):
			return 0, gerr
		}
	}
	switch {
	case exists:
		rec.InstanceID, rec.Outcome = id, fireStarted
	case late:
		rec.Outcome, rec.Reason = fireMissed, fmt.Sprintf("handled %s late, past the catch-up window %s", now.Sub(fire).Round(time.Second), r.CatchupWindow)
	default:
		running := ""
		if overlap != OverlapAllowAll { // allow-all starts whatever runs: no need to look
			var err error
			if running, err = c.scheduleRunning(ctx, r); err != nil {
				return 0, err
			}
		}
		start := true
		if overlap == OverlapBufferOne && !r.Buffered.IsZero() && !buffered {
			// A fire waits already: it goes first, even if the instance it
			// waits for has just ended; this one is over the buffer.
			start = false
			rec.Outcome, rec.Reason = fireSkipped, "a fire is buffered"
		} else if running != "" {
			switch overlap {
			case OverlapSkip:
				start = false
				rec.Outcome, rec.Reason = fireSkipped, "instance "+running+" is running"
			case OverlapBufferOne:
				if r.Buffered.IsZero() || buffered {
					start, retry = false, bufferedRetry
					rec.Outcome, rec.Reason = fireBuffered, "waiting for instance "+running
				} else {
					start = false
					rec.Outcome, rec.Reason = fireSkipped, "instance "+running+" is running and a fire is buffered"
				}
			case OverlapCancelOther:
				if err := c.CancelWorkflowInstance(ctx, &workflow.Instance{InstanceID: running}); err != nil && !errors.Is(err, ErrInstanceFinished) && !errors.Is(err, ErrInstanceNotFound) {
					return 0, err
				}
			case OverlapTerminateOther:
				if err := c.TerminateWorkflowInstance(ctx, &workflow.Instance{InstanceID: running},
					"schedule "+r.ScheduleID+": fire "+fire.Format(time.RFC3339Nano)+" terminates the running instance"); err != nil &&
					!errors.Is(err, ErrInstanceFinished) && !errors.Is(err, ErrInstanceNotFound) {
					return 0, err
				}
			}
		}
		if start {
			if err := c.startScheduled(ctx, r, id, now); err != nil {
				return 0, err
			}
			crashpoint.Reached(crashpoint.ScheduleStarted)
			rec.InstanceID, rec.Outcome = id, fireStarted
		}
	}

	// Record the fire.
	if retry > 0 && buffered {
		return retry, nil // still waiting; nothing new to record
	}
	switch rec.Outcome {
	case fireStarted:
		r.LastInstance = rec.InstanceID
		r.Fires++
		if buffered {
			r.Buffered = time.Time{}
		}
	case fireSkipped:
		r.Skipped++
	case fireMissed:
		r.Missed++
		if buffered {
			r.Buffered = time.Time{}
		}
	case fireBuffered:
		r.Buffered = fire
	}
	r.AddFire(rec)
	if scheduled {
		r.LastFire = fire
		r.NextFire = c.nextAfterFire(r, sp, fire, now)
	}
	if err := c.b.UpdateSchedule(ctx, r); err != nil {
		return 0, err
	}
	crashpoint.Reached(crashpoint.ScheduleRecorded)
	if scheduled {
		if err := c.arm(ctx, r, sp); err != nil {
			return 0, err
		}
	}
	return retry, nil
}

// nextAfterFire is the fire to arm after fire. If the fires after it are
// already later than the catch-up window (the worker was away), it jumps
// to the first fire still inside the window, counting the ones jumped as
// missed.
func (c *Client) nextAfterFire(r *streams.ScheduleRecord, sp *spec, fire, now time.Time) time.Time {
	next := sp.next(fire)
	oldest := now.Add(-r.CatchupWindow)
	for n := 0; !next.IsZero() && next.Before(oldest); n++ {
		if n >= 1000 {
			// Too many to count one by one: jump.
			next = sp.next(oldest)
			break
		}
		r.Missed++
		next = sp.next(next)
	}
	return next
}

// healArm answers a fire that does not count: it makes sure the record's
// fire is armed, so a crash after recording a fire and before arming the
// next does not stop the schedule.
func (c *Client) healArm(ctx context.Context, r *streams.ScheduleRecord, sp *spec) error {
	armed, ok, err := c.b.ArmedFire(ctx, r.ScheduleID)
	if err != nil {
		return err
	}
	if r.Paused || r.NextFire.IsZero() {
		if ok {
			return c.b.DisarmSchedule(ctx, r.ScheduleID)
		}
		return nil
	}
	if ok && armed.Equal(r.NextFire) {
		return nil
	}
	return c.arm(ctx, r, sp)
}

// scheduleRunning is the schedule's last started instance if it is still
// running, else "".
func (c *Client) scheduleRunning(ctx context.Context, r *streams.ScheduleRecord) (string, error) {
	if r.LastInstance == "" {
		return "", nil
	}
	rec, err := c.b.GetInstance(ctx, r.LastInstance)
	if errors.Is(err, streams.ErrInstanceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if rec.Status.Finished() && rec.Status != streams.StatusContinuedAsNew {
		return "", nil
	}
	return r.LastInstance, nil
}

// scheduledStart is the start event of a new run of the schedule's
// workflow, with the arguments encoded at creation.
func scheduledStart(r *streams.ScheduleRecord, now time.Time) *history.Event {
	run := streams.NewID()
	return &history.Event{
		Kind:        history.WorkflowStarted,
		Time:        now,
		InboxID:     streams.StartInboxID(run),
		ExecutionID: run,
		Name:        r.Workflow,
		Queue:       r.Queue,
		Args:        r.Args,
	}
}

// healScheduledStart looks at the instance an earlier delivery of a fire
// registered: if it is running with an empty history, that delivery died
// between registering it and publishing its start, and the start is
// published again (the registry keeps the run; the message ID makes a
// start already stored count once). Without this the instance would stay
// "running" and never run.
func (c *Client) healScheduledStart(ctx context.Context, r *streams.ScheduleRecord, existing *streams.InstanceRecord, now time.Time) error {
	if existing.Status != streams.StatusRunning {
		return nil
	}
	err := c.alreadyRunning(ctx, existing, scheduledStart(r, now))
	if err != nil && !errors.Is(err, ErrInstanceAlreadyExists) {
		return fmt.Errorf("client: schedule %q: instance %q: %w", r.ScheduleID, existing.InstanceID, err)
	}
	return nil
}

// startScheduled starts the schedule's workflow as instance id with the
// arguments encoded at creation, unless the instance exists. Its registry
// entry is created only if the ID was never used: unlike a client start,
// a fire never starts a new run of a finished instance of its ID, which an
// earlier delivery of the same fire started. An instance that exists and
// runs with an empty history has its start published again.
func (c *Client) startScheduled(ctx context.Context, r *streams.ScheduleRecord, id string, now time.Time) error {
	start := scheduledStart(r, now)
	if _, err := c.b.CreateInstance(ctx, streams.NewRunRecord(id, start)); err != nil {
		if !errors.Is(err, streams.ErrInstanceExists) {
			return fmt.Errorf("client: schedule %q: start %q: %w", r.ScheduleID, id, err)
		}
		existing, gerr := c.b.GetInstance(ctx, id)
		if errors.Is(gerr, streams.ErrInstanceNotFound) {
			return nil // it ran and was removed since (retention)
		}
		if gerr != nil {
			return fmt.Errorf("client: schedule %q: instance %q: %w", r.ScheduleID, id, gerr)
		}
		return c.healScheduledStart(ctx, r, existing, now)
	}
	crashpoint.Reached(crashpoint.ScheduleRegistered)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startPublishTimeout)
	defer cancel()
	if err := c.b.PublishEvent(pctx, r.Queue, id, start); err != nil {
		return fmt.Errorf("client: schedule %q: instance %q is registered, but its start could not be published: %w", r.ScheduleID, id, err)
	}
	return nil
}
