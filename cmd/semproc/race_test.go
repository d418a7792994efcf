//go:build race

package main

// raceDetector says the tests run under -race, which slows the local
// model's arithmetic about threefold and finds nothing in it.
const raceDetector = true
