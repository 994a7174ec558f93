//go:build !linux

package prefork

import (
	"context"
	"errors"
)

var errUnsupported = errors.New("prefork: the pre-fork model needs Linux (SO_REUSEPORT balancing, Pdeathsig)")

func serveMaster(context.Context, Config) error        { return errUnsupported }
func serveChild(context.Context, Config, string) error { return errUnsupported }
