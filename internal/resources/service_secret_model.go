package resources

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

type secretModel struct {
	Name           types.String `tfsdk:"name"`
	Target         types.String `tfsdk:"target"`
	Mode           types.String `tfsdk:"mode"`
	UID            types.Int64  `tfsdk:"uid"`
	GID            types.Int64  `tfsdk:"gid"`
	Owner          types.String `tfsdk:"owner"`
	ValueWO        types.String `tfsdk:"value_wo"`
	ValueWOVersion types.Int64  `tfsdk:"value_wo_version"`
	FromEnv        types.String `tfsdk:"from_env"`
	FromFile       types.String `tfsdk:"from_file"`
}

type fileModel struct {
	Target  types.String `tfsdk:"target"`
	Content types.String `tfsdk:"content"`
	Mode    types.String `tfsdk:"mode"`
	Owner   types.String `tfsdk:"owner"`
}

// privateSecretKey names the private-state entry holding the random key
// under which plan-time secret values are hashed.
const privateSecretKey = "secret_key"

var secretPath = path.Root("secret")

func secretsToSpec(ctx context.Context, list types.List) (secrets []spec.Secret, known bool, diags diag.Diagnostics) {
	var blocks []secretModel
	if diags = list.ElementsAs(ctx, &blocks, true); diags.HasError() {
		return nil, false, diags
	}
	for _, b := range blocks {
		if !allKnown(b.Name, b.Target, b.Mode, b.UID, b.GID, b.Owner, b.ValueWOVersion, b.FromEnv, b.FromFile) {
			return nil, false, diags
		}
		secrets = append(secrets, spec.Secret{
			Name: b.Name.ValueString(), Target: b.Target.ValueString(), Mode: b.Mode.ValueString(),
			UID: int(b.UID.ValueInt64()), GID: int(b.GID.ValueInt64()), Owner: b.Owner.ValueString(), Version: b.ValueWOVersion.ValueInt64(),
			FromEnv: b.FromEnv.ValueString(), FromFile: b.FromFile.ValueString(),
		})
	}
	return secrets, true, diags
}

func filesToSpec(ctx context.Context, list types.List) (files []spec.ConfigFile, known bool, diags diag.Diagnostics) {
	var blocks []fileModel
	if diags = list.ElementsAs(ctx, &blocks, true); diags.HasError() {
		return nil, false, diags
	}
	for _, b := range blocks {
		if !allKnown(b.Target, b.Content, b.Mode, b.Owner) {
			return nil, false, diags
		}
		files = append(files, spec.ConfigFile{Target: b.Target.ValueString(), Content: b.Content.ValueString(), Mode: b.Mode.ValueString(), Owner: b.Owner.ValueString()})
	}
	return files, true, diags
}

func secretsFromSpec(ctx context.Context, secrets []spec.Secret) (types.List, diag.Diagnostics) {
	blocks := make([]secretModel, 0, len(secrets))
	for _, s := range secrets {
		b := secretModel{
			Name: types.StringValue(s.Name), Target: optionalString(s.Target), Mode: optionalString(s.Mode),
			UID: optionalInt(s.UID), GID: optionalInt(s.GID), Owner: optionalString(s.Owner), ValueWO: types.StringNull(), ValueWOVersion: types.Int64Null(),
			FromEnv: optionalString(s.FromEnv), FromFile: optionalString(s.FromFile),
		}
		if s.Version != 0 {
			b.ValueWOVersion = types.Int64Value(s.Version)
		}
		blocks = append(blocks, b)
	}
	return types.ListValueFrom(ctx, types.ObjectType{AttrTypes: secretAttrTypes}, blocks)
}

func filesFromSpec(ctx context.Context, files []spec.ConfigFile) (types.List, diag.Diagnostics) {
	blocks := make([]fileModel, 0, len(files))
	for _, f := range files {
		blocks = append(blocks, fileModel{Target: types.StringValue(f.Target), Content: types.StringValue(f.Content), Mode: optionalString(f.Mode), Owner: optionalString(f.Owner)})
	}
	return types.ListValueFrom(ctx, types.ObjectType{AttrTypes: fileAttrTypes}, blocks)
}

// resolveSecrets reads secret values: from the environment and files (at
// plan and apply), and write-only values from the configuration (apply
// only, when writeOnly). With a key, values read at plan time get their
// keyed digest, which stands for them in fingerprints.
func resolveSecrets(ctx context.Context, config tfsdk.Config, svc *spec.Service, key []byte, writeOnly bool) diag.Diagnostics {
	var diags diag.Diagnostics
	for i := range svc.Secrets {
		s := &svc.Secrets[i]
		at := secretPath.AtListIndex(i)
		switch {
		case s.FromEnv != "":
			value, ok := os.LookupEnv(s.FromEnv)
			if !ok {
				diags.AddAttributeError(at.AtName("from_env"), "Secret source not set",
					fmt.Sprintf("Secret %q reads environment variable %s, which is not set where Terraform runs. Set it (in Terraform Cloud: an environment variable of the workspace, marked sensitive), or use value_wo.", s.Name, s.FromEnv))
				continue
			}
			s.Value = []byte(value)
		case s.FromFile != "":
			value, err := os.ReadFile(s.FromFile)
			if err != nil {
				diags.AddAttributeError(at.AtName("from_file"), "Secret source unreadable",
					fmt.Sprintf("Secret %q reads %s on the machine running Terraform: %v.", s.Name, s.FromFile, err))
				continue
			}
			s.Value = value
		case writeOnly:
			var value types.String
			diags.Append(config.GetAttribute(ctx, at.AtName("value_wo"), &value)...)
			s.Value = []byte(value.ValueString())
			continue
		default:
			continue
		}
		if key != nil {
			s.Digest = spec.SecretDigest(key, s.Value)
		}
	}
	return diags
}

// secretKey reads the digest key from private state; nil when absent.
func secretKey(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) ([]byte, diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, privateSecretKey)
	if raw == nil || diags.HasError() {
		return nil, diags
	}
	var key []byte
	if err := json.Unmarshal(raw, &key); err != nil {
		diags.AddError("Corrupt private state", "The secret digest key cannot be read: "+err.Error())
	}
	return key, diags
}

// newSecretKey returns a random digest key and its private-state encoding.
func newSecretKey() (key, encoded []byte) {
	key = make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on supported platforms
	encoded, _ = json.Marshal(key)
	return key, encoded
}

func optionalInt(v int) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(v))
}
