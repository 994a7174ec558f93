package ab

// ServerCPUUnavailable says why servers' CPU time cannot be measured on
// this system; empty on Linux, where metrics.TreeCPU reads it.
const ServerCPUUnavailable = ""
