package main

import (
	"context"
	"errors"
	"io"
)

// runCalc is not built yet; its issue owns this file.
func runCalc(_ context.Context, _, _ io.Writer, _ []string) error {
	return usageError("%w", errors.New("calc: not implemented yet"))
}
