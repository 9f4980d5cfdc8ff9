// Command testnode is one node of a JetStream cluster in a process of its
// own, for the fault suite (package faults): the test SIGKILLs it, which,
// unlike a graceful shutdown, gives its Raft groups no chance to hand
// their leadership over. It prints "ready" on stdout once it accepts
// connections, and runs until killed; SIGTERM shuts it down gracefully
// (nats-server hands its leaderships over and flushes its store first).
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	var (
		name        = flag.String("name", "", "server name")
		port        = flag.Int("port", 0, "client port")
		clusterPort = flag.Int("cluster-port", 0, "route port")
		routes      = flag.String("routes", "", "comma-separated route URLs of the other nodes")
		dir         = flag.String("dir", "", "JetStream store folder")
		cluster     = flag.String("cluster", "faults", "cluster name")
	)
	flag.Parse()
	if *name == "" || *port == 0 || *clusterPort == 0 || *dir == "" {
		fmt.Fprintln(os.Stderr, "testnode: -name, -port, -cluster-port and -dir are required")
		os.Exit(2)
	}
	var rs []*url.URL
	for _, r := range strings.Split(*routes, ",") {
		if r == "" {
			continue
		}
		u, err := url.Parse(r)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testnode: route:", err)
			os.Exit(2)
		}
		rs = append(rs, u)
	}
	opts := &server.Options{
		ServerName: *name,
		Host:       "127.0.0.1",
		Port:       *port,
		JetStream:  true,
		StoreDir:   *dir,
		NoSigs:     true,
		Routes:     rs,
		Cluster: server.ClusterOpts{
			Name: *cluster,
			Host: "127.0.0.1",
			Port: *clusterPort,
		},
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testnode:", err)
		os.Exit(1)
	}
	ns.ConfigureLogger()
	ns.Start()
	if !ns.ReadyForConnections(time.Minute) {
		fmt.Fprintln(os.Stderr, "testnode: not ready for connections")
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		ns.Shutdown()
	}()
	fmt.Println("ready")
	ns.WaitForShutdown()
}
