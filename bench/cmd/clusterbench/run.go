package main

import (
	"context"
	"errors"
	"io"
)

// runRun is not built yet; its issue owns this file.
func runRun(_ context.Context, _, _ io.Writer, _ []string) error {
	return usageError("%w", errors.New("run: not implemented yet"))
}
