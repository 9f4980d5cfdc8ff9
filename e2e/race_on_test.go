//go:build race

package e2e

// raceDetector reports a -race build: tests that move tens of megabytes
// through workflow code scale down under its tenfold slowdown.
const raceDetector = true
