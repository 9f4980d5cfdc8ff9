package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanLine is one span as the worker writes it to its -spans file: a JSON
// object per line, written as the span ends, so a process killed with
// SIGKILL leaves every span it ended.
type SpanLine struct {
	TraceID  string `json:"trace_id"`
	SpanID   string `json:"span_id"`
	ParentID string `json:"parent_id,omitempty"`
	Name     string `json:"name"`
}

// fileExporter writes spans to a file, one JSON line each.
type fileExporter struct {
	mu sync.Mutex
	f  *os.File
}

func newSpanFile(path string) (*sdktrace.TracerProvider, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spans file: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSyncer(&fileExporter{f: f})), nil
}

func (e *fileExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		line := SpanLine{TraceID: s.SpanContext().TraceID().String(), SpanID: s.SpanContext().SpanID().String(), Name: s.Name()}
		if s.Parent().IsValid() {
			line.ParentID = s.Parent().SpanID().String()
		}
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		if _, err := e.f.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func (e *fileExporter) Shutdown(context.Context) error { return e.f.Close() }
