package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strings"

	"github.com/jetflow/jetflow/diag"
)

// defaultUIAddr is where the web UI listens unless told otherwise.
const defaultUIAddr = "127.0.0.1:8233"

func uiCommand() *command {
	var listen string
	return &command{
		name:    "ui",
		summary: "serve the web UI against any NATS server until Ctrl-C",
		description: `
Serve jetflow's web UI for one namespace of a NATS server: the instances,
newest first, filtered by status and workflow and searched by ID; each
instance's status, input, result or error, pending work and history,
updated live while it runs; and buttons to cancel, terminate or signal it.

The UI has no login and it can cancel and terminate workflows: keep it
on 127.0.0.1 (the default), or put it behind your own authentication.

wfctl dev serves the same UI beside its development server.`,
		examples: []string{
			`wfctl ui`,
			`wfctl ui --server nats://nats.internal:4222 --creds ops.creds --listen 127.0.0.1:9000`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&listen, "listen", defaultUIAddr, "`ADDR` (host:port) to serve the UI on")
		},
		run: func(ctx context.Context, a *app, _ []string) error {
			l, err := listenUI("ui", listen)
			if err != nil {
				return err
			}
			b, err := a.backend()
			if err != nil {
				l.Close()
				return err
			}
			fmt.Fprintf(a.stdout, "jetflow web UI for namespace %q at %s\nPress Ctrl-C to stop.\n", a.g.namespace, uiURL(l))
			return runServices(ctx, []service{httpService(l, diag.NewServeMux(b))})
		},
	}
}

// listenUI opens the UI's listener, with an error that says which flag
// chooses another address.
func listenUI(cmd, addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, usageErrorf("%s: bad UI address %q: want host:port, as in %s", cmd, addr, defaultUIAddr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		flag := "--listen"
		if cmd == "dev" {
			flag = "--ui"
		}
		return nil, fmt.Errorf("%s: cannot serve the UI on %s: %w (%s chooses another address)", cmd, addr, err, flag)
	}
	return l, nil
}

// uiURL is the address to open in a browser: a listener on every
// interface is reached on loopback.
func uiURL(l net.Listener) string {
	addr := l.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("http://%s:%d/", host, addr.Port)
}
