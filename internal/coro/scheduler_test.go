package coro

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCoroutinesRunOneAtATimeInSpawnOrder(t *testing.T) {
	s := New(time.Minute)
	defer s.Close()
	var log []string
	gate := false
	for _, name := range []string{"a", "b", "c"} {
		s.Spawn(name, func() {
			log = append(log, name+" start")
			s.Block(func() bool { return gate })
			log = append(log, name+" end")
		})
	}
	if err := s.RunUntilBlocked(); err != nil {
		t.Fatal(err)
	}
	gate = true
	s.Spawn("d", func() { log = append(log, "d") })
	if err := s.RunUntilBlocked(); err != nil {
		t.Fatal(err)
	}
	want := "a start,b start,c start,a end,b end,c end,d"
	if got := strings.Join(log, ","); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestBlockWithAConditionThatHoldsDoesNotSwitch(t *testing.T) {
	s := New(time.Minute)
	defer s.Close()
	var log []string
	s.Spawn("a", func() {
		s.Block(func() bool { return true })
		log = append(log, "a")
	})
	s.Spawn("b", func() { log = append(log, "b") })
	if err := s.RunUntilBlocked(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ","); got != "a,b" {
		t.Fatalf("got %s", got)
	}
}

func TestHaltStopsAfterTheRunningCoroutine(t *testing.T) {
	s := New(time.Minute)
	defer s.Close()
	ran := false
	s.Spawn("a", func() { s.Halt() })
	s.Spawn("b", func() { ran = true })
	if err := s.RunUntilBlocked(); err != nil {
		t.Fatal(err)
	}
	if ran || !s.Halted() {
		t.Fatalf("ran=%v halted=%v", ran, s.Halted())
	}
}

func TestPanicIsReported(t *testing.T) {
	s := New(time.Minute)
	defer s.Close()
	s.Spawn("bad", func() { panic("boom") })
	err := s.RunUntilBlocked()
	var p *Panic
	if !errors.As(err, &p) || p.Value != "boom" || p.Coroutine != "bad" || !strings.Contains(p.Stack, "scheduler_test.go") {
		t.Fatalf("got %#v", err)
	}
	if err2 := s.RunUntilBlocked(); err2 != err {
		t.Fatalf("a broken scheduler must keep its error, got %v", err2)
	}
}

func TestBlockOutsideACoroutinePanics(t *testing.T) {
	s := New(time.Minute)
	defer func() {
		if r := recover(); r != ErrNotInCoroutine {
			t.Fatalf("recovered %v", r)
		}
	}()
	s.Block(func() bool { return false })
}

func TestCloseRunsDeferredCallsOneAtATime(t *testing.T) {
	s := New(time.Minute)
	var log []string
	for _, name := range []string{"a", "b"} {
		s.Spawn(name, func() {
			defer func() { log = append(log, name+" deferred") }()
			defer s.Block(func() bool { return false }) // ends the coroutine at once
			s.Block(func() bool { return false })
		})
	}
	if err := s.RunUntilBlocked(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if got := strings.Join(log, ","); got != "a deferred,b deferred" {
		t.Fatalf("got %s", got)
	}
	if err := s.RunUntilBlocked(); err != ErrClosed {
		t.Fatalf("got %v", err)
	}
	s.Spawn("late", func() { t.Error("must not run") })
}

func TestBlockedCoroutineIsReported(t *testing.T) {
	s := New(20 * time.Millisecond)
	var mu sync.Mutex
	mu.Lock()
	s.Spawn("stuck", func() {
		mu.Lock()
		mu.Unlock()
		s.Block(func() bool { return false })
	})
	err := s.RunUntilBlocked()
	var be *BlockedError
	if !errors.As(err, &be) || be.Coroutine != "stuck" || !strings.Contains(be.Stack, "sync.(*Mutex).Lock") {
		t.Fatalf("got %v", err)
	}
	s.Close()
	mu.Unlock() // the coroutine reaches Block and ends
}
