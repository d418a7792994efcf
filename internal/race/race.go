//go:build race

// Package race says whether the race detector is on: measurements that are
// pure arithmetic run several times slower under it and find nothing there,
// so they skip and CI runs them without it.
package race

// Enabled is true in a binary built with -race.
const Enabled = true
