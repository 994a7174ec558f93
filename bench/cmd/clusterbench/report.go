package main

import (
	"context"
	"errors"
	"io"
)

// runReport is not built yet; its issue owns this file.
func runReport(_ context.Context, _, _ io.Writer, _ []string) error {
	return usageError("%w", errors.New("report: not implemented yet"))
}
