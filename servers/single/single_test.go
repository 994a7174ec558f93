package single

import (
	"context"
	"net"
	"testing"

	"github.com/clusterbench/clusterbench/servers/servertest"
)

func TestContract(t *testing.T) {
	base := servertest.Start(t, func(ctx context.Context, ln net.Listener) error { return Serve(ctx, ln, Config{}) })
	servertest.Run(t, base, servertest.Options{Workers: 1})
}

func TestDrain(t *testing.T) {
	servertest.Drain(t, func(ctx context.Context, ln net.Listener) error { return Serve(ctx, ln, Config{}) })
}
