package main

import (
	"context"
	"errors"
	"io"
)

// runAB is not built yet; its issue owns this file.
func runAB(_ context.Context, _, _ io.Writer, _ []string) error {
	return usageError("%w", errors.New("ab: not implemented yet"))
}
