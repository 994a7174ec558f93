package main

import (
	"errors"
	"fmt"
)

// exitError carries the exit code an error should produce.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errSilent marks an error whose message was already printed.
var errSilent = errors.New("already reported")

// usageError is a bad flag, argument or input file: exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// measurementError is a failure of the measurement itself: exit 3.
func measurementError(err error) error {
	return &exitError{code: ExitMeasurement, err: err}
}

// regressionError is a detected regression or a failed threshold: exit 1.
func regressionError(err error) error {
	return &exitError{code: ExitRegression, err: err}
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitMeasurement
}
