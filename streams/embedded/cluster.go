package embedded

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Dir holds one store folder per node. Empty means a temporary folder
	// removed by Shutdown.
	Dir string
	// Name is the cluster's name; empty means "jetflow".
	Name string
	// ReadyTimeout bounds how long StartCluster and Restart wait for the
	// cluster to have a JetStream leader. Zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// Cluster is a JetStream cluster of several nats-servers, all in this
// process, talking over loopback TCP. It exists for tests of clustered
// behaviour: streams with replicas, and losing or restarting a node.
type Cluster struct {
	opts    ClusterOptions
	root    string
	tempDir string

	mu    sync.Mutex
	nodes []*clusterNode
}

type clusterNode struct {
	name       string
	clientPort int
	routePort  int
	dir        string
	ns         *server.Server // nil while stopped
}

// StartCluster starts a JetStream cluster of n nodes (at least 3 for R3
// streams) and waits until it has elected a meta leader.
func StartCluster(n int, opts ClusterOptions) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("embedded: a cluster needs at least one node, got %d", n)
	}
	if opts.Name == "" {
		opts.Name = "jetflow"
	}
	c := &Cluster{opts: opts, root: opts.Dir}
	if c.root == "" {
		dir, err := os.MkdirTemp("", "jetflow-cluster-*")
		if err != nil {
			return nil, fmt.Errorf("embedded: temporary cluster folder: %w", err)
		}
		c.root, c.tempDir = dir, dir
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		c.Shutdown()
		return nil, err
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("n%d", i+1)
		c.nodes = append(c.nodes, &clusterNode{
			name:       name,
			clientPort: ports[2*i],
			routePort:  ports[2*i+1],
			dir:        filepath.Join(c.root, name),
		})
	}
	for i := range c.nodes {
		if err := c.startNode(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.waitForLeader(); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) readyTimeout() time.Duration {
	if c.opts.ReadyTimeout > 0 {
		return c.opts.ReadyTimeout
	}
	return DefaultReadyTimeout
}

// startNode starts node i with the options it always has, so a restarted
// node comes back at the same addresses with the same store.
func (c *Cluster) startNode(i int) error {
	nd := c.nodes[i]
	var routes []*url.URL
	for j, other := range c.nodes {
		if j != i {
			routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", other.routePort)})
		}
	}
	sopts := &server.Options{
		ServerName: nd.name,
		Host:       "127.0.0.1",
		Port:       nd.clientPort,
		JetStream:  true,
		StoreDir:   nd.dir,
		NoSigs:     true,
		NoLog:      true,
		Routes:     routes,
		Cluster: server.ClusterOpts{
			Name: c.opts.Name,
			Host: "127.0.0.1",
			Port: nd.routePort,
		},
	}
	ns, err := startNATS(sopts, Options{ReadyTimeout: c.readyTimeout()})
	if err != nil {
		return fmt.Errorf("embedded: cluster node %s: %w", nd.name, err)
	}
	c.mu.Lock()
	nd.ns = ns
	c.mu.Unlock()
	return nil
}

// waitForLeader waits until a client can use JetStream, which needs a meta
// leader and every running node caught up with it.
func (c *Cluster) waitForLeader() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.readyTimeout())
	defer cancel()
	nc, err := c.Connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("embedded: jetstream: %w", err)
	}
	for {
		// Each try gets its own short deadline: a request sent before the
		// meta leader exists gets no answer at all.
		try, cancelTry := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(try)
		cancelTry()
		if err == nil && c.allCurrent() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded: cluster has no JetStream leader after %s", c.readyTimeout())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) allCurrent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nd := range c.nodes {
		if nd.ns != nil && !nd.ns.JetStreamIsCurrent() {
			return false
		}
	}
	return true
}

// Size is the number of nodes, running or stopped.
func (c *Cluster) Size() int { return len(c.nodes) }

// ClientURLs lists the running nodes' URLs, comma-separated, as nats.Connect
// takes them.
func (c *Cluster) ClientURLs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var urls []string
	for _, nd := range c.nodes {
		if nd.ns != nil {
			urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", nd.clientPort))
		}
	}
	return strings.Join(urls, ",")
}

// allURLs lists every node's URL, stopped ones too, so a client connected
// now reconnects to a node that comes back later.
func (c *Cluster) allURLs() string {
	var urls []string
	for _, nd := range c.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", nd.clientPort))
	}
	return strings.Join(urls, ",")
}

// Connect opens a client connection that knows every node and reconnects
// forever, so it survives a node being stopped.
func (c *Cluster) Connect(opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{
		nats.Name("jetflow-embedded-cluster"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
	}
	nc, err := nats.Connect(c.allURLs(), append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("embedded: connect to cluster: %w", err)
	}
	return nc, nil
}

// NodeURL is node i's client URL, for a connection to that node alone
// (to read from a given replica, say).
func (c *Cluster) NodeURL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].clientPort)
}

// NodeName is node i's server name (n1, n2, ...).
func (c *Cluster) NodeName(i int) string { return c.nodes[i].name }

// NodeIndex is the index of the node with the given server name, or -1.
func (c *Cluster) NodeIndex(name string) int {
	for i, nd := range c.nodes {
		if nd.name == name {
			return i
		}
	}
	return -1
}

// Running reports whether node i is running.
func (c *Cluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].ns != nil
}

// Stop shuts node i down, abruptly for its clients, keeping its store so
// Restart can bring it back.
func (c *Cluster) Stop(i int) error {
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("embedded: no cluster node %d", i)
	}
	c.mu.Lock()
	ns := c.nodes[i].ns
	c.nodes[i].ns = nil
	c.mu.Unlock()
	if ns == nil {
		return fmt.Errorf("embedded: cluster node %s is not running", c.nodes[i].name)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	return nil
}

// Restart starts a stopped node i again with its old store and addresses,
// and waits until the cluster has a leader and the node has caught up.
func (c *Cluster) Restart(i int) error {
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("embedded: no cluster node %d", i)
	}
	if c.Running(i) {
		return fmt.Errorf("embedded: cluster node %s is already running", c.nodes[i].name)
	}
	if err := c.startNode(i); err != nil {
		return err
	}
	return c.waitForLeader()
}

// Shutdown stops every node and removes the temporary folder, if any.
func (c *Cluster) Shutdown() {
	c.mu.Lock()
	nodes := append([]*clusterNode(nil), c.nodes...)
	c.mu.Unlock()
	for i, nd := range nodes {
		if nd.ns != nil {
			_ = c.Stop(i)
		}
	}
	if c.tempDir != "" {
		os.RemoveAll(c.tempDir)
	}
}

// freePorts finds n distinct free loopback TCP ports. They are released
// before use, so another process could take one in between; on loopback in
// a test run that is rare enough.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("embedded: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
