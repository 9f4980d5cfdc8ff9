// Command jetflowvet reports non-deterministic code in jetflow workflow
// functions: the clock, goroutines, select and native channels, map
// iteration, random numbers, I/O, sync primitives, global variable writes,
// reflection over maps and activities called as plain functions.
//
// Run it standalone:
//
//	go run github.com/jetflow/jetflow/cmd/jetflowvet ./...
//	jetflowvet -json ./...   # findings as JSON
//	jetflowvet -fix ./...    # apply the suggested fixes
//
// or through go vet:
//
//	go vet -vettool=$(which jetflowvet) ./...
//
// The analyzer itself is package github.com/jetflow/jetflow/jetflowvet;
// docs/jetflowvet.md describes every rule and the //jetflowvet:ignore
// directive.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/jetflow/jetflow/jetflowvet"
)

func main() { singlechecker.Main(jetflowvet.Analyzer) }
