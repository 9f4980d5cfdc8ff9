// Package deploy_test keeps docker-compose.yml honest: Docker cannot run
// where the tests run, so this test loads the very NATS config files the
// compose file mounts with nats-server's own config parser and boots that
// cluster in-process, then runs a workflow on it with R3 streams.
package deploy_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func Greet(ctx context.Context, name string) (string, error) { return "Hello, " + name + "!", nil }

func Greeting(ctx workflow.Context, name string) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Greet, name).Get(ctx)
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startComposeCluster checks the compose file's NATS configs and boots
// the cluster they describe in the test process, returning the nodes'
// client URLs.
func startComposeCluster(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("nats", "n*.conf"))
	require.NoError(t, err)
	require.Len(t, files, 3, "the compose file runs three nodes")

	// Everything comes from the files except what only makes sense inside
	// Docker: host names and fixed ports become loopback and free ports,
	// /data a temporary folder, and the monitoring port is left off.
	clientPorts := map[string]int{}
	clusterPorts := map[string]int{}
	var opts []*server.Options
	for _, f := range files {
		o, err := server.ProcessConfigFile(f)
		require.NoError(t, err, f)
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		assert.Equal(t, name, o.ServerName, "%s names its server after its file", f)
		assert.Equal(t, "jetflow", o.Cluster.Name)
		assert.True(t, o.JetStream, "%s enables JetStream", f)
		assert.Equal(t, "/data", o.StoreDir, "%s keeps its store on the compose volume", f)
		assert.Equal(t, int32(1<<20), o.MaxPayload)
		assert.Len(t, o.Routes, 3, "%s routes to every node", f)
		for _, r := range o.Routes {
			assert.Equal(t, "6222", r.Port())
		}
		clientPorts[name], clusterPorts[name] = freePort(t), freePort(t)
		opts = append(opts, o)
	}
	for _, o := range opts {
		var routes []string
		for _, r := range o.Routes {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPorts[r.Hostname()]))
		}
		o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		o.Host, o.Port = "127.0.0.1", clientPorts[o.ServerName]
		o.Cluster.Host, o.Cluster.Port = "127.0.0.1", clusterPorts[o.ServerName]
		o.HTTPPort = 0
		o.StoreDir = filepath.Join(t.TempDir(), o.ServerName)
		o.NoSigs, o.NoLog = true, true
	}
	var urls []string
	for _, o := range opts {
		s, err := server.NewServer(o)
		require.NoError(t, err)
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		require.True(t, s.ReadyForConnections(30*time.Second), "%s ready", o.ServerName)
		urls = append(urls, s.ClientURL())
	}

	return urls
}

func TestComposeClusterConfig(t *testing.T) {
	urls := startComposeCluster(t)
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	// The cluster elects its JetStream meta leader after the nodes meet.
	var b *streams.Backend
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err = streams.New(nc, streams.WithReplicas(3))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, err, "provisioning R3 streams on the compose cluster")

	w := worker.New(b, nil)
	require.NoError(t, w.RegisterWorkflow(Greeting))
	require.NoError(t, w.RegisterActivity(Greet))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wctx, stop := context.WithCancel(ctx)
	require.NoError(t, w.Start(wctx))
	defer func() { stop(); _ = w.WaitForCompletion() }()

	c := client.New(b)
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Greeting, "ann")
	require.NoError(t, err)
	res, err := client.GetWorkflowResult[string](ctx, c, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "Hello, ann!", res)

	info, err := b.JetStream().Stream(ctx, "WF_default_HISTORY")
	require.NoError(t, err)
	assert.Equal(t, 3, info.CachedInfo().Config.Replicas)
}

// TestComposeFileUsesTheseConfigs checks docker-compose.yml mounts this
// folder and runs each node with its file, so the files tested above are
// the ones it runs.
func TestComposeFileUsesTheseConfigs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	require.NoError(t, err)
	compose := string(data)
	assert.Contains(t, compose, "./deploy/nats:/etc/nats:ro")
	for _, n := range []string{"n1", "n2", "n3"} {
		assert.Contains(t, compose, fmt.Sprintf(`command: ["-c", "/etc/nats/%s.conf"]`, n))
		assert.Contains(t, compose, fmt.Sprintf("%s-data:/data", n))
	}
	assert.Contains(t, compose, "JETFLOW_REPLICAS: \"3\"")
}
