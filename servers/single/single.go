// Package single is the single-process model: one process, net/http with a
// goroutine per connection, every request answered as worker 0. GOMAXPROCS
// (set by the caller) lets it mimic Node's one thread.
package single

import (
	"context"
	"net"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
)

// Config configures Serve. The zero value is a valid configuration.
type Config struct {
	App   app.Config    // Exec is ignored: the single model runs inline as worker 0
	Grace time.Duration // drain deadline on shutdown; zero means 5s
}

// DefaultGrace is the drain deadline when Config.Grace is zero.
const DefaultGrace = 5 * time.Second

// Serve serves the API on ln until ctx is done, then drains.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	cfg.App.Exec = app.Inline{ID: 0}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	return app.Serve(ctx, ln, app.Handler(cfg.App), cfg.Grace)
}
