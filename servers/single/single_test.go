package single

import (
	"context"
	"net"
	"testing"

	"github.com/clusterbench/clusterbench/servers/servertest"
)

func TestContract(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Config{}) }()
	servertest.Run(t, "http://"+ln.Addr().String(), servertest.Options{Workers: 1})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel = %v, want nil (clean drain)", err)
	}
}
