// Package scenarios holds the scenario files shipped with clusterbench,
// embedded in the binary so that an installed clusterbench runs them from
// any directory (`clusterbench run hello`).
package scenarios

import "embed"

// Files are the shipped scenario files, NAME.yaml at the top.
//
//go:embed *.yaml
var Files embed.FS
