//go:build tools

// Package tools pins the tools the project runs (docs generation) in a module
// of their own, so they never enter the provider's dependency graph.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
