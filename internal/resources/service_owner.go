package resources

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
)

// privateOwner names the private-state entry of the service's owner
// identity: random, made by the first apply, and put on every container the
// service creates, so that the service tells its containers from those of
// a same-named service another Terraform state manages.
const privateOwner = "owner"

// readOwner returns the recorded owner identity, "" when there is none (a
// new service, or a state written before owners).
func readOwner(ctx context.Context, private privateGetter) string {
	if private == nil {
		return ""
	}
	raw, diags := private.GetKey(ctx, privateOwner)
	var owner string
	if raw == nil || diags.HasError() || json.Unmarshal(raw, &owner) != nil {
		return ""
	}
	return owner
}

func recordOwner(ctx context.Context, private privateSetter, owner string) diag.Diagnostics {
	raw, _ := json.Marshal(owner) // a string always encodes
	return private.SetKey(ctx, privateOwner, raw)
}

func newOwner() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// ownerOrNew is the owner identity an apply labels containers with.
func ownerOrNew(ctx context.Context, private privateGetter) string {
	if owner := readOwner(ctx, private); owner != "" {
		return owner
	}
	return newOwner()
}

// adoptedOwner is the owner identity an import takes over: the one on the
// containers, so that the imported service is their owner.
func adoptedOwner(observed []reconcile.Observed) string {
	for _, o := range observed {
		if o.Owner != "" {
			return o.Owner
		}
	}
	return newOwner()
}

// foreign are the containers a service of another state created: they
// carry another owner. Containers without one predate owners: they are the
// service's own.
func foreign(observed []reconcile.Observed, owner string) []reconcile.Observed {
	var out []reconcile.Observed
	for _, o := range observed {
		if o.Owner != "" && o.Owner != owner {
			out = append(out, o)
		}
	}
	return out
}

// unclaimed lists the containers of the service's name on the hosts it may
// be placed on: a new service must find none, since they belong to another
// state or to an interrupted create.
func (r *serviceResource) unclaimed(ctx context.Context, service string, hostNames []string) ([]reconcile.Observed, error) {
	var hosts []*docker.Host
	for _, name := range hostNames {
		if h, err := r.hosts.Get(name); err == nil {
			hosts = append(hosts, h)
		}
	}
	return docker.ListReplicasOn(ctx, hosts, service)
}

// claimedError explains containers a new service may not take over, and
// the ways out.
func claimedError(diags *diag.Diagnostics, service string, observed []reconcile.Observed) {
	diags.AddAttributeError(path.Root("name"), "Service already exists on the host",
		fmt.Sprintf("Service %q already has containers that this Terraform state does not manage: %s.\n"+
			"Another Terraform state manages a service of this name on that host, or an earlier apply of this configuration "+
			"was interrupted before it could record them. Nothing was changed.\n"+
			"Choose another name, or take the service over: terraform import <resource address> %s (or an import block).",
			service, describe(observed), service))
}

// foreignError explains containers of the service's name that another
// state's service created (observed are those, from foreign).
func foreignError(diags *diag.Diagnostics, service string, observed []reconcile.Observed) {
	diags.AddAttributeError(path.Root("name"), "Containers of another Terraform state",
		fmt.Sprintf("Containers named after service %q were created by a service of another Terraform state (owner label %q): %s.\n"+
			"This state does not touch them. Remove that service from the other state, or rename this one.",
			service, observed[0].Owner, describe(observed)))
}

func describe(observed []reconcile.Observed) string {
	names := make([]string, 0, len(observed))
	for _, o := range observed {
		names = append(names, fmt.Sprintf("%s on host %q", o.Name, o.Host))
	}
	return strings.Join(names, ", ")
}
