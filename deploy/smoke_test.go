package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/testenv"
)

// smokeResult is how a run of smoke.sh ended.
type smokeResult struct {
	code           int
	stdout, stderr string
}

func (r smokeResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runSmoke runs deploy/smoke.sh with args and env added to a minimal
// environment (no Docker is involved with --no-compose).
func runSmoke(t *testing.T, env []string, args ...string) smokeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"smoke.sh"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := smokeResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "running smoke.sh: %v", err)
		r.code = ee.ExitCode()
	}
	return r
}

// goBuild builds pkg (relative to the module root) into dir.
func goBuild(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = ".."
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", pkg, b)
	return out
}

// startProcess starts bin with env, stopping it when the test ends; its
// output is logged if the test fails.
func startProcess(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), out.String())
		}
	})
}

// TestSmokeScript runs deploy/smoke.sh --no-compose against what
// docker-compose.yml runs, without Docker: the cluster of its NATS config
// files, the example worker with R3 streams and wfctl ui, with the
// environment the compose file gives them. Prometheus and Grafana are
// left out (the script's checks of them need Docker's images).
func TestSmokeScript(t *testing.T) {
	urls := startComposeCluster(t)
	natsURL := strings.Join(urls, ",")
	bin := t.TempDir()
	workerBin := goBuild(t, bin, "./examples/worker")
	wfctlBin := goBuild(t, bin, "./cmd/wfctl")

	startProcess(t, workerBin, []string{"NATS_URL=" + natsURL, "JETFLOW_REPLICAS=3",
		fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", freePort(t))})
	// wfctl ui needs the namespace the worker provisions (compose restarts
	// it until then).
	nc, err := nats.Connect(natsURL)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	testenv.WaitFor(t, 2*time.Minute, "the worker to provision the namespace", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := js.KeyValue(ctx, "wf_default_instances")
		return err == nil
	})
	uiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startProcess(t, wfctlBin, []string{"NATS_URL=" + natsURL}, "ui", "--listen", uiAddr)

	r := runSmoke(t, []string{"WFCTL=" + wfctlBin, "NATS_URL=" + natsURL, "UI_URL=http://" + uiAddr,
		"PROMETHEUS_URL=off", "GRAFANA_URL=off", "SMOKE_TIMEOUT=120"}, "--no-compose")
	require.Equal(t, 0, r.code, r)
	assert.Contains(t, r.stdout, `result "Hello, smoke!"`, r)
	assert.Contains(t, r.stdout, "checking the web UI", r)
	assert.Contains(t, r.stdout, "smoke test passed", r)
}

// TestSmokeScriptFails checks the script's failure paths: a deployment
// that never answers fails the step with its name after SMOKE_TIMEOUT, and
// bad arguments are usage errors.
func TestSmokeScriptFails(t *testing.T) {
	wfctlBin := goBuild(t, t.TempDir(), "./cmd/wfctl")
	nobody := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))

	r := runSmoke(t, []string{"WFCTL=" + wfctlBin, "NATS_URL=" + nobody, "SMOKE_TIMEOUT=2"}, "--no-compose")
	assert.Equal(t, 1, r.code, r)
	assert.Contains(t, r.stderr, "FAIL: wfctl start: not within 2s", r)
	assert.NotContains(t, r.stdout, "passed", r)

	r = runSmoke(t, nil, "--frobnicate")
	assert.Equal(t, 2, r.code, r)
	assert.Contains(t, r.stderr, "unknown argument --frobnicate", r)

	r = runSmoke(t, []string{"WFCTL=/nonexistent/wfctl"}, "--no-compose")
	assert.Equal(t, 2, r.code, r)
	assert.Contains(t, r.stderr, "set WFCTL to a wfctl binary", r)

	r = runSmoke(t, nil, "--help")
	assert.Equal(t, 0, r.code, r)
	assert.Contains(t, r.stdout, "Usage: deploy/smoke.sh", r)
}
