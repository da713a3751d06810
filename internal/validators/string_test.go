package validators

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestStringReportsCheckErrorsAtThePath(t *testing.T) {
	v := String("even length", func(s string) error {
		if len(s)%2 != 0 {
			return errors.New("odd length: add a character")
		}
		return nil
	})
	cases := map[string]struct {
		value   types.String
		wantErr bool
	}{
		"valid":   {types.StringValue("ab"), false},
		"invalid": {types.StringValue("abc"), true},
		"null":    {types.StringNull(), false},
		"unknown": {types.StringUnknown(), false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp := &validator.StringResponse{}
			v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("attr"), ConfigValue: tc.value}, resp)
			if got := resp.Diagnostics.HasError(); got != tc.wantErr {
				t.Fatalf("HasError = %v, want %v: %v", got, tc.wantErr, resp.Diagnostics)
			}
			if tc.wantErr && resp.Diagnostics[0].Detail() != "odd length: add a character" {
				t.Fatalf("detail = %q", resp.Diagnostics[0].Detail())
			}
		})
	}
}
