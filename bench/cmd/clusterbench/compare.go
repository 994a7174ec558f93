package main

import (
	"context"
	"errors"
	"io"
)

// runCompare is not built yet; its issue owns this file.
func runCompare(_ context.Context, _, _ io.Writer, _ []string) error {
	return usageError("%w", errors.New("compare: not implemented yet"))
}
