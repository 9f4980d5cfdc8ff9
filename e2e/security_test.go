package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Whoami answers with the namespace of the worker that ran it.
type Whoami struct{ namespace string }

func (w *Whoami) Namespace(ctx context.Context) (string, error) { return w.namespace, nil }

// AskNamespace runs Namespace and returns its answer.
func AskNamespace(ctx workflow.Context) (string, error) {
	var w *Whoami
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, w.Namespace).Get(ctx)
}

// startNamespaceWorker starts a worker of namespace ns on nc.
func startNamespaceWorker(t *testing.T, nc *nats.Conn, ns string) *streams.Backend {
	t.Helper()
	b := testenv.Backend(t, nc, streams.WithNamespace(ns))
	wftest.Worker(t, b, &worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(AskNamespace))
		must(t, w.RegisterActivity(&Whoami{namespace: ns}))
	})
	return b
}

func TestNamespacesAreIsolated(t *testing.T) {
	nc := testenv.Conn(t, testenv.Server(t))
	ctx := ctxFor(t)

	// Namespace "blue" has a worker; "green" has none yet.
	blue := client.New(startNamespaceWorker(t, nc, "blue"))
	greenBackend, err := streams.New(nc, streams.WithNamespace("green"))
	require.NoError(t, err)
	green := client.New(greenBackend)

	// The same instance ID in both namespaces: two independent instances.
	const id = "shared-id"
	_, err = green.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, AskNamespace)
	require.NoError(t, err)
	inst, err := blue.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, AskNamespace)
	require.NoError(t, err)
	res, err := client.GetWorkflowResult[string](ctx, blue, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "blue", res)

	// Blue's worker, busy all along, never touched green's work: the
	// green instance has no history and its start is still queued.
	d, err := green.DescribeWorkflowInstance(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, streams.StatusRunning, d.Status)
	assert.Zero(t, d.HistoryLength, "no worker of another namespace ran green's instance")
	consumer, err := greenBackend.JetStream().Consumer(ctx, "WF_green_TASKS", "wft_default")
	require.NoError(t, err)
	info, err := consumer.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.NumPending, "green's start waits in green's queue")
	assert.Zero(t, info.NumAckPending, "and nobody took it")

	// A green worker runs it, in green.
	startNamespaceWorker(t, nc, "green")
	res, err = client.GetWorkflowResult[string](ctx, green, &workflow.Instance{InstanceID: id}, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "green", res)
}

func TestWorkflowOnAServerThatRequiresAuth(t *testing.T) {
	srv := testenv.Server(t, testenv.Loopback(), func(o *embedded.Options) { o.Username, o.Password = "jetflow", "s3cret" })

	_, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(0))
	require.Error(t, err, "a client without credentials is refused")

	// Over TCP with credentials, as a separate service would connect.
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("jetflow", "s3cret"))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	c := client.New(startNamespaceWorker(t, nc, "secure"))
	ctx := ctxFor(t)
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, AskNamespace)
	require.NoError(t, err)
	res, err := client.GetWorkflowResult[string](ctx, c, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "secure", res)
}
