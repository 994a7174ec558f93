//go:build !linux

package prefork

import "context"

func serveMaster(context.Context, Config) error        { return Unsupported() }
func serveChild(context.Context, Config, string) error { return Unsupported() }
