//go:build !race

package e2e

// raceDetector reports a -race build (see race_on_test.go).
const raceDetector = false
