//go:build race

package main

// raceEnabled: under the race detector the tests run smaller crowds.
const raceEnabled = true
