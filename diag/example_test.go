package diag_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/jetflow/jetflow/diag"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

// Mount the web UI under /ops/workflows/ of a service that serves other
// things too. Every link of the UI keeps the prefix. In production, put the
// UI behind the service's authentication: it can cancel and terminate
// workflows.
func Example() {
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	b, err := streams.New(nc, streams.WithNamespace("shop"))
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/ops/workflows/", http.StripPrefix("/ops/workflows", diag.NewServeMux(b)))

	// A real service would run http.ListenAndServe(":8080", mux).
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer ts.CloseClientConnections() // the UI's live event streams

	res, err := http.Get(ts.URL + "/ops/workflows/")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}
