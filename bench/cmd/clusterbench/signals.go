package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interruptible returns a context cancelled by the first SIGINT or
// SIGTERM, so the command stops and keeps what it has (a run saves its
// trials, serve drains). A second one takes the signal's default action at
// once: it is re-raised with the handler removed, so a drain or a stop
// that hangs can still be ended by a second Ctrl-C. The handler stays
// registered until then, so a second signal is never lost in between.
// stop releases the handler and waits for its goroutine.
func interruptible(parent context.Context) (ctx context.Context, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			signal.Reset(syscall.SIGINT, syscall.SIGTERM)
			if p, err := os.FindProcess(os.Getpid()); err != nil || p.Signal(s) != nil {
				os.Exit(130) // where a process cannot signal itself (Windows)
			}
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			wg.Wait()
			cancel()
		})
	}
}
