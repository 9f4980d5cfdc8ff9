// Package rules has a true positive for every rule.
package rules

import (
	"context"
	crand "crypto/rand"
	"maps"
	"math/rand"
	"net"
	"net/http"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jetflow/jetflow/workflow"
)

var counter int

var cache = map[string]int{}

type config struct{ calls int }

var global config

var ptr = &config{}

func Clock(ctx workflow.Context) {
	_ = time.Now()                     // want `time.Now in workflow code: use workflow.Now\(ctx\)`
	_ = time.Since(time.Time{})        // want `time.Since in workflow code`
	_ = time.Until(time.Time{})        // want `time.Until in workflow code`
	time.Sleep(time.Second)            // want `time.Sleep in workflow code: use workflow.Sleep\(ctx, d\)`
	<-time.After(time.Second)          // want `time.After in workflow code: use workflow.ScheduleTimer` `receive from a Go channel`
	_ = time.Tick(time.Second)         // want `time.Tick in workflow code`
	_ = time.NewTimer(1)               // want `time.NewTimer in workflow code`
	_ = time.NewTicker(1)              // want `time.NewTicker in workflow code`
	_ = time.AfterFunc(1, nil)         // want `time.AfterFunc in workflow code`
	_ = time.Duration(3) * time.Second // types and constants of package time are fine
	clock := time.Now                  // want `time.Now taken as a function value in workflow code: use workflow.Now\(ctx\)`
	_ = clock
}

func Goroutines(ctx workflow.Context) {
	go func() {}() // want `go statement in workflow code: start a workflow goroutine with workflow.Go`
}

func Channels(ctx workflow.Context, c chan int) {
	c <- 1        // want `send on a Go channel in workflow code: use a workflow.Channel`
	<-c           // want `receive from a Go channel`
	for range c { // want `range over a Go channel`
	}
	select { // want `select statement in workflow code: use workflow.Select`
	case v := <-c:
		_ = v
		c <- 2 // want `send on a Go channel`
	default:
	}
}

func Maps(ctx workflow.Context, m map[string]int) []string {
	var out []string
	for k := range m { // want `range over a map \(random order\) in workflow code: collect the keys, sort them`
		out = append(out, k)
	}
	for k := range maps.Keys(m) { // want `range over maps.Keys \(random order\)`
		out = append(out, k)
	}
	var keys []string
	for k := range m { // want `range over a map`
		keys = append(keys, k)
	}
	_ = len(keys) // used before it is sorted
	sortStrings(keys)
	filled := make([]string, len(m))
	i := 0
	for k := range m { // want `range over a map`
		filled[i] = k
		i++
	}
	_ = filled // never sorted
	var s string
	for k := range m { // want `range over a map`
		s += k // string concatenation depends on the order
	}
	return append(out, s)
}

func sortStrings([]string) {}

func Random(ctx workflow.Context) {
	_ = rand.Intn(10)                           // want `rand.Intn in workflow code: draw random numbers in workflow.SideEffect`
	_, _ = crand.Read(nil)                      // want `rand.Read in workflow code: draw random bytes in workflow.SideEffect`
	_ = uuid.NewString()                        // want `uuid.NewString in workflow code: make the ID in workflow.SideEffect`
	_ = uuid.NewSHA1(uuid.UUID{}, nil).String() // a name-based UUID is deterministic
	r := rand.New(rand.NewSource(42))           // a generator seeded by the workflow is deterministic
	_ = r.Intn(10)
}

func IO(ctx workflow.Context) {
	_ = os.Getenv("HOME")         // want `os.Getenv in workflow code: do I/O and read the environment in an activity`
	_, _ = os.ReadFile("x")       // want `os.ReadFile in workflow code`
	_ = os.IsNotExist(nil)        // looks at an error: fine
	_, _ = http.Get("http://x")   // want `http.Get in workflow code: do network I/O in an activity`
	_ = http.StatusText(200)      // fine
	_, _ = net.Dial("tcp", "x:1") // want `net.Dial in workflow code`
	_ = net.ParseIP("127.0.0.1")  // parsing is fine
}

func Sync(ctx workflow.Context) {
	var mu sync.Mutex
	mu.Lock()   // want `sync.Mutex.Lock in workflow code: workflow goroutines take turns`
	mu.Unlock() // want `sync.Mutex.Unlock in workflow code`
	var wg sync.WaitGroup
	wg.Wait() // want `sync.WaitGroup.Wait in workflow code`
	var n atomic.Int64
	n.Add(1) // want `atomic.Int64.Add in workflow code: workflow goroutines take turns: use a plain variable`
}

func Globals(ctx workflow.Context) {
	counter++         // want `write to package variable counter in workflow code: keep workflow state in local variables`
	counter = 3       // want `write to package variable counter`
	cache["k"] = 1    // want `write to package variable cache`
	global.calls += 1 // want `write to package variable global`
	ptr.calls = 2     // want `write to package variable ptr`
	local := config{}
	local.calls = 1 // a local variable: fine
	_ = counter     // reading is fine
}

func Reflection(ctx workflow.Context, m map[string]int) {
	v := reflect.ValueOf(m)
	_ = v.MapKeys()  // want `reflect.Value.MapKeys in workflow code: sort the keys`
	_ = v.MapRange() // want `reflect.Value.MapRange in workflow code`
	_ = v.Len()
}

// Fetch is an activity: workflows run it with ExecuteActivity.
func Fetch(ctx context.Context, key string) (string, error) { return key, nil } // want Fetch:"activity"

func Activities(ctx workflow.Context) {
	_, _ = workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Fetch, "k").Get(ctx)
	_, _ = Fetch(context.Background(), "k") // want `activity rules.Fetch called as a function in workflow code: run it with workflow.ExecuteActivity\(ctx, opts, Fetch, ...\)`
}

// Literal: function literals of the workflow shape are workflow code, also
// inside functions that are not.
func Literal() { // want Literal:`nondeterministic\(time.Now\)`
	wf := func(ctx workflow.Context) {
		_ = time.Now() // want `time.Now in workflow code`
	}
	_ = wf
	_ = time.Now() // not workflow code
}

// Nested: a workflow goroutine is workflow code; its findings are reported
// once.
func Nested(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		_ = rand.Int() // want `rand.Int in workflow code`
	})
	defer func() {
		_ = rand.Int() // want `rand.Int in workflow code`
	}()
}
