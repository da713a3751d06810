package resources

import (
	"context"
	"regexp"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// attributeRef is how spec names an attribute at the start of a message:
// `volume[0].host.path: ...`, `cluster.seeds: ...`, `port[1] and ...`.
var attributeRef = regexp.MustCompile(`^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*)(?:[:\s.]|$)`)

var refStep = regexp.MustCompile(`([a-z_]+)(?:\[(\d+)\])?`)

// addValidationError reports a spec validation error at the attribute its
// message starts with, so that Terraform underlines that line of the
// configuration; an error naming no attribute of the schema goes to the
// resource.
func addValidationError(ctx context.Context, s schema.Schema, diags *diag.Diagnostics, err error) {
	const summary = "Invalid stateful_service configuration"
	if p, ok := attributePath(ctx, s, err.Error()); ok {
		diags.AddAttributeError(p, summary, err.Error())
		return
	}
	diags.AddError(summary, err.Error())
}

// attributePath reads the attribute a message starts with, if it is one
// of the schema's.
func attributePath(ctx context.Context, s schema.Schema, message string) (path.Path, bool) {
	m := attributeRef.FindStringSubmatch(message)
	if m == nil {
		return path.Empty(), false
	}
	p := path.Empty()
	for _, step := range refStep.FindAllStringSubmatch(m[1], -1) {
		p = p.AtName(step[1])
		if step[2] != "" {
			i, _ := strconv.Atoi(step[2])
			p = p.AtListIndex(i)
		}
	}
	if _, diags := s.TypeAtPath(ctx, p); diags.HasError() {
		return path.Empty(), false
	}
	return p, true
}
