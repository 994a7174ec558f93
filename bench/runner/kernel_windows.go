package runner

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// kernelRelease is Windows's version and build ("10.0.22631").
func kernelRelease() string {
	v := windows.RtlGetVersion()
	return fmt.Sprintf("%d.%d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber)
}
