//go:build race

package inference_test

// raceEnabled: the race detector's build allocates differently (more escapes to the heap), so
// allocation measurements are made without it (make test runs them in a plain pass).
const raceEnabled = true
