//go:build !linux

package ab

import "runtime"

// ServerCPUUnavailable says why servers' CPU time cannot be measured on
// this system: a trial's server CPU stays 0, which every report prints
// as "-".
const ServerCPUUnavailable = "server CPU is not measured on " + runtime.GOOS + " (it needs Linux's /proc)"
