// Package streams is everything in jetflow that touches JetStream: it
// provisions a namespace's streams, consumers and key-value bucket, names
// every subject, and offers the small operations the worker and the client
// are built from — history read and commit with sequence checks, the
// workflow-task inbox, activity tasks, timers as message schedules, the
// instance registry, result notices and dead letters.
//
// A Backend is bound to one namespace; several applications share a NATS
// account by using different namespaces. Users create a Backend with New and
// pass it to worker.New, client.New and diag.NewServeMux; the other methods
// are the building blocks those packages use.
package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Option configures New.
type Option func(*options) error

type options struct {
	namespace      string
	replicas       int
	storage        jetstream.StorageType
	logger         *slog.Logger
	duplicates     time.Duration
	ackWait        time.Duration
	maxAckPending  int
	requestTimeout time.Duration
	converter      converter.Converter
	telemetry      telemetryOptions
	retention      time.Duration // WithRetention; 0 keeps finished instances
	codec          codec.Codec   // payloads.go

	payloadThreshold int // payloadstore.go

	noIndex bool // WithListIndex(false)

	// markerTTL is how long the registry keeps the marker a removal
	// leaves (registryMarkerTTL; tests shorten it).
	markerTTL time.Duration
}

// WithNamespace selects the namespace (default "default"): letters, digits,
// '_' and '-', at most 32 characters.
func WithNamespace(ns string) Option {
	return func(o *options) error {
		if err := checkNamespace(ns); err != nil {
			return err
		}
		o.namespace = ns
		return nil
	}
}

// WithReplicas sets how many copies of each stream a cluster keeps (1 to 5;
// 3 is the usual choice for production). The default is 1.
func WithReplicas(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("streams: replicas must be between 1 and 5, got %d", n)
		}
		o.replicas = n
		return nil
	}
}

// WithStorage chooses file (the default) or memory storage for the streams.
// Memory storage loses everything when the server stops: tests only.
func WithStorage(st jetstream.StorageType) Option {
	return func(o *options) error {
		if st != jetstream.FileStorage && st != jetstream.MemoryStorage {
			return fmt.Errorf("streams: unknown storage type %v", st)
		}
		o.storage = st
		return nil
	}
}

// WithLogger sets the logger for the backend and what is built on it. The
// default discards log lines.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("streams: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithConverter sets the converter of every payload of the namespace:
// workflow and activity arguments and results, signal and query values,
// heartbeat details. It is a setting of the whole application: workers,
// clients, the web UI and wfctl read it from the backend, so all parties
// encode alike. The default is converter.Default (msgpack).
func WithConverter(c converter.Converter) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("streams: nil converter")
		}
		o.converter = c
		return nil
	}
}

// WithDuplicateWindow sets how long JetStream remembers message IDs to drop
// a republished event or task (default 2 minutes).
func WithDuplicateWindow(d time.Duration) Option {
	return func(o *options) error {
		if d < time.Second {
			return fmt.Errorf("streams: duplicate window %s is shorter than a second", d)
		}
		o.duplicates = d
		return nil
	}
}

// WithAckWait sets how long a fetched task may stay unacknowledged before
// JetStream hands it to another worker (default 30 seconds). Workers extend
// it for long tasks with InProgress.
func WithAckWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("streams: ack wait %s is shorter than 100ms", d)
		}
		o.ackWait = d
		return nil
	}
}

// WithRequestTimeout bounds each JetStream request made without a deadline
// in its context (default 5 seconds).
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("streams: request timeout must be positive, got %s", d)
		}
		o.requestTimeout = d
		return nil
	}
}

// Backend is a namespace's JetStream objects, provisioned and ready. It is
// safe for concurrent use.
type Backend struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	opts options
	n    names
	log  *slog.Logger

	replies replyMux
	ownRevs ownRevisions // registry revisions a read must show (leaderread.go)

	// markerTTL is the TTL of the registry's removal markers, 0 when the
	// bucket keeps them (provisioned before they expired).
	markerTTL time.Duration

	history    jetstream.Stream
	tasks      jetstream.Stream
	activities jetstream.Stream
	dead       jetstream.Stream
	registry   jetstream.KeyValue
	index      jetstream.Stream // nil for a namespace provisioned before the index (Open)
	counts     jetstream.Stream // counters of the index rows; nil as index

	indexHooks  indexHooks
	indexWriter indexWriter // indexwriter.go

	removals  removalQueue   // retention schedules being armed (retention.go)
	details   detailsBucket  // heartbeat details, bound on first use
	schedules scheduleBucket // schedule records, bound on first use

	payloads *PayloadConverter // payloads.go
	store    payloadStore      // payloadstore.go

	tel telemetryState // tracer and instruments, built on first use
}

// New provisions the namespace's streams, consumers of the default queue and
// registry bucket on the connection's JetStream, creating what is missing
// and updating what differs. Running it again, or from several processes at
// once, is safe and ends in the same topology.
func New(nc *nats.Conn, opts ...Option) (*Backend, error) {
	b, err := configure(nc, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*b.opts.requestTimeout)
	defer cancel()
	if err := b.provision(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Open binds to a namespace that New provisioned before, creating and
// changing nothing: for tools that only read or drive workflows (a CLI,
// a UI) and for credentials that may not create streams. A namespace that
// does not exist gives an error matching ErrNamespaceNotFound, so a
// mistyped namespace is not silently created empty. Options that shape
// the topology (replicas, storage, duplicate window, ack wait) are
// ignored.
func Open(nc *nats.Conn, opts ...Option) (*Backend, error) {
	b, err := configure(nc, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*b.opts.requestTimeout)
	defer cancel()
	missing := func(what string, err error) error {
		if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("%w: namespace %q has no %s (a worker, or streams.New, provisions it)", ErrNamespaceNotFound, b.n.ns, what)
		}
		return fmt.Errorf("streams: open namespace %q: %s: %w", b.n.ns, what, err)
	}
	streams := []struct {
		name string
		dst  *jetstream.Stream
	}{
		{b.n.historyStream(), &b.history},
		{b.n.tasksStream(), &b.tasks},
		{b.n.activitiesStream(), &b.activities},
		{b.n.deadStream(), &b.dead},
	}
	for _, st := range streams {
		if *st.dst, err = b.js.Stream(ctx, st.name); err != nil {
			return nil, missing("stream "+st.name, err)
		}
	}
	if b.registry, err = b.js.KeyValue(ctx, b.n.registryBucket()); err != nil {
		return nil, missing("registry bucket "+b.n.registryBucket(), err)
	}
	// A bucket provisioned before removal markers expired keeps them: a
	// purge may only ask for a TTL the bucket allows.
	st, err := b.registry.Status(ctx)
	if err != nil {
		return nil, missing("registry bucket "+b.n.registryBucket(), err)
	}
	b.markerTTL = st.LimitMarkerTTL()
	b.openIndex(ctx)
	return b, nil
}

// bounded limits ctx to the backend's request timeout. The JetStream client
// applies its default timeout only to contexts without a deadline, and a
// caller's context may allow minutes (a whole workflow task): one answer
// lost on the way must fail its request after the request timeout, so the
// caller can find out what happened and go on.
func (b *Backend) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= b.opts.requestTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, b.opts.requestTimeout)
}

// configure applies the options and connects to JetStream.
func configure(nc *nats.Conn, opts []Option) (*Backend, error) {
	if nc == nil {
		return nil, errors.New("streams: nil NATS connection")
	}
	o := options{
		namespace:      DefaultNamespace,
		replicas:       1,
		storage:        jetstream.FileStorage,
		logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		duplicates:     2 * time.Minute,
		ackWait:        30 * time.Second,
		maxAckPending:  20000,
		requestTimeout: 5 * time.Second,
		markerTTL:      registryMarkerTTL,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(o.requestTimeout))
	if err != nil {
		return nil, fmt.Errorf("streams: jetstream: %w", err)
	}
	b := &Backend{
		nc:   nc,
		js:   js,
		opts: o,
		n:    names{ns: o.namespace},
		log:  o.logger.With(logkey.Namespace, o.namespace),
	}
	b.replies.nc = nc
	b.indexWriter.init(b)
	b.payloads = newPayloadConverter(o.converter, o.codec)
	b.payloads.fetch = b.fetchPayload
	return b, nil
}

func (b *Backend) provision(ctx context.Context) error {
	o := b.opts
	var err error
	b.history, err = b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        b.n.historyStream(),
		Description: "jetflow run histories, one subject per run",
		Subjects:    []string{b.n.historyAll()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     o.storage,
		Replicas:    o.replicas,
		AllowDirect: true,
		Duplicates:  o.duplicates,
	})
	if err != nil {
		return err
	}
	b.tasks, err = b.ensureStream(ctx, jetstream.StreamConfig{
		Name:              b.n.tasksStream(),
		Description:       "jetflow workflow-task inbox and timer schedules",
		Subjects:          []string{b.n.tasksAll()},
		Retention:         jetstream.WorkQueuePolicy,
		Storage:           o.storage,
		Replicas:          o.replicas,
		AllowMsgSchedules: true,
		AllowRollup:       true, // schedules roll up their own subject
		Duplicates:        o.duplicates,
	})
	if err != nil {
		return err
	}
	b.activities, err = b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        b.n.activitiesStream(),
		Description: "jetflow activity tasks",
		Subjects:    []string{b.n.activitiesAll()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     o.storage,
		Replicas:    o.replicas,
		Duplicates:  o.duplicates,
	})
	if err != nil {
		return err
	}
	b.dead, err = b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        b.n.deadStream(),
		Description: "jetflow dead letters: poison messages and exhausted tasks",
		Subjects:    []string{b.n.deadAll()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     o.storage,
		Replicas:    o.replicas,
		AllowDirect: true,
	})
	if err != nil {
		return err
	}
	b.registry, err = b.ensureKV(ctx, jetstream.KeyValueConfig{
		Bucket:         b.n.registryBucket(),
		Description:    "jetflow instance registry",
		History:        1,
		Storage:        o.storage,
		Replicas:       o.replicas,
		LimitMarkerTTL: o.markerTTL,
	})
	if err != nil {
		return err
	}
	b.markerTTL = o.markerTTL
	if !o.noIndex {
		if b.index, err = b.ensureStream(ctx, b.indexConfig()); err != nil {
			return err
		}
		if b.counts, err = b.ensureStream(ctx, b.countsConfig()); err != nil {
			return err
		}
	}
	return b.EnsureQueue(ctx, DefaultQueue)
}

// ensureStream creates or updates a stream. Two processes provisioning at
// once can both find the stream missing and both create it; the loser's
// create fails, and it then updates like any later run would.
func (b *Backend) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := b.js.CreateOrUpdateStream(ctx, cfg)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && !storeRaced(ctx, err, attempt) {
			break
		}
	}
	return nil, fmt.Errorf("streams: provision stream %s: %w", cfg.Name, lastErr)
}

func (b *Backend) ensureKV(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		kv, err := b.js.CreateOrUpdateKeyValue(ctx, cfg)
		if err == nil {
			return kv, nil
		}
		lastErr = err
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && !errors.Is(err, jetstream.ErrBucketExists) &&
			!storeRaced(ctx, err, attempt) {
			break
		}
	}
	return nil, fmt.Errorf("streams: provision bucket %s: %w", cfg.Bucket, lastErr)
}

// errCodeStreamStoreFailed is the server's "error creating store for
// stream", which nats.go has no constant for.
const errCodeStreamStoreFailed jetstream.ErrorCode = 10049

// storeRaced reports whether a create failed because the server could not
// make the stream's folder, and then pauses before the caller tries again.
// A standalone nats-server (2.15.2) removes an account's empty stream
// folder in the background after the account's last stream is deleted, so
// provisioning right after a namespace was removed can lose that race
// (measured: one create in 300 right after a delete on an empty account).
// The next try succeeds.
func storeRaced(ctx context.Context, err error, attempt int) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != errCodeStreamStoreFailed {
		return false
	}
	return sleepCtx(ctx, time.Duration(attempt+1)*20*time.Millisecond)
}

// DefaultQueue is the queue used when none is given.
const DefaultQueue = "default"

// EnsureQueue creates or updates the durable consumers a queue's workers
// share: one for its workflow tasks, one for its activity tasks. New calls it
// for DefaultQueue; workers call it for the queues they serve.
func (b *Backend) EnsureQueue(ctx context.Context, queue string) error {
	q, err := EncodeQueue(queue)
	if err != nil {
		return err
	}
	_, err = b.ensureConsumer(ctx, b.tasks, b.n.inboxConsumer(q), b.n.inboxOfQueue(q), "workflow tasks of queue "+queue)
	if err != nil {
		return err
	}
	_, err = b.ensureConsumer(ctx, b.activities, b.n.activityConsumer(q), b.n.activities(q), "activity tasks of queue "+queue)
	return err
}

func (b *Backend) ensureConsumer(ctx context.Context, s jetstream.Stream, name, filter, what string) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "jetflow " + what,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.opts.ackWait,
		MaxAckPending: b.opts.maxAckPending,
		MaxDeliver:    -1, // workers dead-letter poison messages themselves
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      b.opts.replicas,
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := s.CreateOrUpdateConsumer(ctx, cfg)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if !errors.Is(err, jetstream.ErrConsumerExists) {
			break
		}
	}
	return nil, fmt.Errorf("streams: provision consumer %s: %w", name, lastErr)
}

// AckWait is how long a fetched task may stay unacknowledged before it is
// handed to another worker (WithAckWait).
func (b *Backend) AckWait() time.Duration { return b.opts.ackWait }

// Namespace is the backend's namespace.
func (b *Backend) Namespace() string { return b.opts.namespace }

// Conn is the NATS connection the backend uses.
func (b *Backend) Conn() *nats.Conn { return b.nc }

// JetStream is the JetStream context the backend uses.
func (b *Backend) JetStream() jetstream.JetStream { return b.js }

// Converter is the converter of the namespace's payloads (WithConverter),
// with the namespace's codec (WithCodec) applied: a *PayloadConverter.
func (b *Backend) Converter() converter.Converter { return b.payloads }

// Logger is the backend's logger, tagged with the namespace.
func (b *Backend) Logger() *slog.Logger { return b.log }

// Close releases the backend, after waiting (up to twice the request
// timeout) for the list-index writes it has queued. It does not close
// the NATS connection, which the caller owns, and deletes nothing: the
// namespace's state stays in JetStream.
func (b *Backend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*b.opts.requestTimeout)
	defer cancel()
	return b.flushIndex(ctx)
}

// maxPayload is the largest message the connected server accepts.
func (b *Backend) maxPayload() int64 { return b.nc.MaxPayload() }

// checkSize gives a clear error for a message the server would refuse.
func (b *Backend) checkSize(what string, size int) error {
	if max := b.maxPayload(); max > 0 && int64(size) > max {
		return fmt.Errorf("%w: %s is %d bytes, the server accepts at most %d", ErrPayloadTooLarge, what, size, max)
	}
	return nil
}
