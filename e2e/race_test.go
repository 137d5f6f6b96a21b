//go:build race

package e2e

// raceEnabled says whether this test binary runs under the race detector;
// the picloud binary under test is built the same way.
const raceEnabled = true
