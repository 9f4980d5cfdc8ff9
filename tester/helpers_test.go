package tester_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// epoch is the start time of the tests' workflows.
var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// fakeTB records what the tester reports instead of failing the test, so
// tests can check the tester's failure messages.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	fatals []string
	logs   []string
}

func newFakeTB(t *testing.T) *fakeTB { return &fakeTB{TB: t} }

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fatals = append(f.fatals, fmt.Sprint(args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// failure returns the one failure reported, failing the test if there is
// not exactly one.
func (f *fakeTB) failure(t *testing.T) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fatals) != 1 {
		t.Fatalf("want exactly one reported failure, got %d: %q", len(f.fatals), f.fatals)
	}
	return f.fatals[0]
}

func (f *fakeTB) logged() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.logs, "\n")
}
