//go:build race

package client

// raceDetector reports a -race build: the cluster tests take fewer rounds
// under its tenfold slowdown.
const raceDetector = true
