//go:build race

package worker

// raceEnabled: the race detector multiplies the cost of every wake-up.
const raceEnabled = true
