package resources

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
)

// destroyDataWarning tells, in the plan of a destroy, that the destroy
// deletes the service's data (retention.when_deleted = "delete"), and
// whether a backup is taken first: a destroy plan has no attribute to say
// it in.
func destroyDataWarning(ctx context.Context, state tfsdk.State) diag.Diagnostics {
	var diags diag.Diagnostics
	if state.Raw.IsNull() {
		return diags
	}
	var m serviceModel
	if diags.Append(state.Get(ctx, &m)...); diags.HasError() {
		return diags
	}
	svc, _, d := m.toSpec(ctx)
	if d.HasError() || !svc.Retention.DeleteWhenDeleted() || len(svc.Volumes) == 0 {
		return nil
	}
	if svc.Backup != nil {
		diags.AddAttributeWarning(path.Root("backup"), "Destroy deletes the service's data after a backup",
			fmt.Sprintf("retention.when_deleted is \"delete\": destroying %s deletes its volumes and host directories. Each is archived to %s first; "+
				"if a backup fails, the destroy fails and deletes nothing.", svc.Name, svc.Backup.Destination()))
		return diags
	}
	diags.AddAttributeWarning(path.Root("retention").AtName("when_deleted"), "Destroy deletes the service's data",
		fmt.Sprintf("retention.when_deleted is \"delete\": destroying %s deletes its volumes and host directories, with no backup. "+
			"Add a backup block to archive them first, or set when_deleted = \"retain\" to keep them.", svc.Name))
	return diags
}
