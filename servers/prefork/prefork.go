// Package prefork is the multi-process pre-fork model: a master and N child
// processes (re-executions of the binary) sharing one port.
package prefork

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
)

// Balance modes: how connections reach children.
const (
	BalanceReusePort  = "reuseport"
	BalanceShared     = "shared"
	BalanceRoundRobin = "roundrobin"
)

// Balances lists the balance modes.
var Balances = []string{BalanceReusePort, BalanceShared, BalanceRoundRobin}

// Config configures Serve.
type Config struct {
	Addr    string        // host:port to listen on
	Workers int           // child processes
	Balance string        // one of Balances; empty means shared
	Grace   time.Duration // drain deadline; zero means 5s
	App     app.Config    // Exec is replaced by each child
	Logger  *slog.Logger  // lifecycle events; nil means slog.Default()
}

// Serve runs the master (or, in a re-executed child, the child) until ctx is done.
func Serve(ctx context.Context, cfg Config) error {
	return errors.New("prefork: not implemented yet")
}
