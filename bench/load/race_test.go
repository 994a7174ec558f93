//go:build race

package load

// raceEnabled: the race detector slows allocation-heavy code (vegeta's
// attacker, net/http) many times more than the lean engine, which distorts
// timing comparisons between them; those run in the build without it
// (make test runs them there).
const raceEnabled = true
