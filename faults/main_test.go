package faults

import (
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

var (
	soakFlag     = flag.Bool("soak", false, "run the long soak version of every scenario (also FAULTS_SOAK=1)")
	failoverFlag = flag.Int("failover", 0, "lose the leader this many times in each cluster scenario and print the failover figures as a table")
	seedFlag     = flag.Int64("faults.seed", 0, "seed of the random fault moments (also FAULTS_SEED); 0 picks one from the clock")
)

// workerBin and nodeBin are the testworker and testnode binaries built by
// TestMain.
var workerBin, nodeBin string

// suiteSeed is the seed every test derives its random source from.
var suiteSeed int64

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if v := os.Getenv("FAULTS_SOAK"); v != "" && v != "0" {
		*soakFlag = true
	}
	suiteSeed = *seedFlag
	if suiteSeed == 0 {
		if v := os.Getenv("FAULTS_SEED"); v != "" {
			s, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				fmt.Fprintln(os.Stderr, "faults: FAULTS_SEED:", err)
				return 2
			}
			suiteSeed = s
		}
	}
	if suiteSeed == 0 {
		suiteSeed = time.Now().UnixNano()
	}

	dir, err := os.MkdirTemp("", "jetflow-faults-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	workerBin = filepath.Join(dir, "testworker")
	nodeBin = filepath.Join(dir, "testnode")
	for _, b := range []struct{ out, pkg string }{{workerBin, "./testworker"}, {nodeBin, "./testnode"}} {
		// Without -race unless asked: the processes are what the faults
		// hit, and on two cores the race detector would slow them tenfold.
		args := []string{"build", "-o", b.out}
		if os.Getenv("FAULTS_WORKER_RACE") != "" {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool(), append(args, b.pkg)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "faults: building %s: %v\n", b.pkg, err)
			return 2
		}
	}
	return m.Run()
}

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// testRand is a test's random source: the suite seed mixed with the test's
// name, so one seed reproduces every test's choices and tests do not share
// a sequence. The seed is logged.
func testRand(t *testing.T) *rand.Rand {
	t.Helper()
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	t.Logf("seed %d (reproduce with -faults.seed=%d or FAULTS_SEED=%d)", suiteSeed, suiteSeed, suiteSeed)
	return rand.New(rand.NewPCG(uint64(suiteSeed), h.Sum64()))
}

// scale picks the CI or the soak value.
func scale[T any](ci, soak T) T {
	if *soakFlag {
		return soak
	}
	return ci
}
