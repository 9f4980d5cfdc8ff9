package embedded

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// useJetStream creates a stream, stores a message and reads it back.
func useJetStream(t *testing.T, nc *nats.Conn, stream string) {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateOrUpdateStream(ctx(t), jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}})
	require.NoError(t, err)
	_, err = js.Publish(ctx(t), stream+".x", []byte("hello"))
	require.NoError(t, err)
	s, err := js.Stream(ctx(t), stream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx(t), stream+".x")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(m.Data))
}

func TestStartInProcess(t *testing.T) {
	srv, err := Start(Options{})
	require.NoError(t, err)
	dir := srv.StoreDir()
	require.DirExists(t, dir)
	assert.Empty(t, srv.ClientURL(), "an in-process server has no URL")

	nc, err := srv.Connect()
	require.NoError(t, err)
	useJetStream(t, nc, "S")
	nc.Close()

	srv.Shutdown()
	srv.Shutdown() // safe twice
	assert.NoDirExists(t, dir, "the temporary store is removed")
}

func TestStartListening(t *testing.T) {
	srv, err := Start(Options{Port: RandomPort})
	require.NoError(t, err)
	defer srv.Shutdown()
	url := srv.ClientURL()
	require.NotEmpty(t, url)
	assert.Regexp(t, `^nats://127\.0\.0\.1:\d+$`, url)

	// Another "process": a plain client with only the URL.
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	useJetStream(t, nc, "S")
}

func TestDirKeepsStateAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv, err := Start(Options{Dir: dir})
	require.NoError(t, err)
	nc, err := srv.Connect()
	require.NoError(t, err)
	useJetStream(t, nc, "KEEP")
	nc.Close()
	srv.Shutdown()
	require.DirExists(t, dir, "a chosen Dir is never removed")

	srv, err = Start(Options{Dir: dir})
	require.NoError(t, err)
	defer srv.Shutdown()
	nc, err = srv.Connect()
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	s, err := js.Stream(ctx(t), "KEEP")
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx(t), "KEEP.x")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(m.Data))
}

func TestUserPasswordAuth(t *testing.T) {
	srv, err := Start(Options{Port: RandomPort, Username: "app", Password: "s3cret"})
	require.NoError(t, err)
	defer srv.Shutdown()

	_, err = nats.Connect(srv.ClientURL())
	require.Error(t, err, "a client without credentials is refused")
	_, err = nats.Connect(srv.ClientURL(), nats.UserInfo("app", "wrong"))
	require.Error(t, err)

	nc, err := srv.Connect() // supplies the credentials
	require.NoError(t, err)
	defer nc.Close()
	useJetStream(t, nc, "AUTH")
}

func TestStartErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	tests := []struct {
		name     string
		opts     Options
		contains string
	}{
		{"port too large", Options{Port: 70000}, "port 70000 out of range"},
		{"port negative", Options{Port: -2}, "port -2 out of range"},
		{"negative max payload", Options{MaxPayload: -1}, "negative MaxPayload"},
		{"user without password", Options{Username: "a"}, "go together"},
		{"missing config file", Options{ConfigFile: "/nonexistent.conf"}, "config file"},
		{"dir is a file", Options{Dir: filepath.Join(file, "sub")}, "store folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.contains)
		})
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	store := filepath.Join(dir, "js")
	require.NoError(t, os.WriteFile(conf, []byte("listen: 127.0.0.1:-1\nmax_payload: 65536\njetstream { store_dir: \""+store+"\" }\n"), 0o644))
	srv, err := Start(Options{ConfigFile: conf})
	require.NoError(t, err)
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	assert.EqualValues(t, 65536, nc.MaxPayload())
	useJetStream(t, nc, "CONF")
	assert.Equal(t, store, srv.StoreDir())
}

func TestClusterStopRestart(t *testing.T) {
	c, err := StartCluster(3, ClusterOptions{})
	require.NoError(t, err)
	defer c.Shutdown()
	assert.Equal(t, 3, c.Size())
	nc, err := c.Connect()
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx(t), jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	require.NoError(t, err)

	require.NoError(t, c.Stop(1))
	assert.False(t, c.Running(1))
	assert.Error(t, c.Stop(1), "stopping a stopped node")
	// Two of three nodes keep a quorum: writes go on.
	deadline := time.Now().Add(20 * time.Second)
	for {
		try, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = js.Publish(try, "r3.a", []byte("1"))
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err)

	require.NoError(t, c.Restart(1))
	assert.True(t, c.Running(1))
	assert.Error(t, c.Restart(1), "restarting a running node")
	assert.Equal(t, 1, c.NodeIndex("n2"))
	assert.Equal(t, -1, c.NodeIndex("nope"))
	assert.Error(t, c.Stop(7))

	_, err = StartCluster(0, ClusterOptions{})
	require.ErrorContains(t, err, "at least one node")
}

func TestStartOnABusyPortFailsAtOnce(t *testing.T) {
	first, err := Start(Options{Port: RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown()
	port := first.NATSServer().Addr().(*net.TCPAddr).Port

	// The ready timeout is long; the failure must not wait for it.
	second, err := Start(Options{Port: port, ReadyTimeout: time.Hour})
	if err == nil {
		second.Shutdown()
		t.Fatal("a second server started on a port in use")
	}
	if !strings.Contains(err.Error(), "failed to start") || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error does not say what went wrong: %v", err)
	}
}
