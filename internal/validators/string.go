// Package validators holds the provider's custom attribute validators: thin
// adapters from pure check functions (mostly in package spec) to the
// framework, so one check serves plan-time validation and apply alike.
package validators

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// Check validates one string value; its error message names the fix.
type Check func(value string) error

// String adapts a Check into a string validator. Unknown and null values
// pass; they are checked once known.
func String(description string, check Check) validator.String {
	return stringCheck{description: description, check: check}
}

type stringCheck struct {
	description string
	check       Check
}

func (v stringCheck) Description(context.Context) string         { return v.description }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.description }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid value for "+req.Path.String(), err.Error())
	}
}
