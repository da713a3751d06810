package resources

import (
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// instances holds what a module needs to reach and reason about each
// replica, and nothing else: every value here is walked by Terraform and
// the framework on every request. What only planning needs (container IDs,
// states, fingerprints, definitions) is kept in private state.

// wildcardIP is the host address a port without host_ip is published on.
const wildcardIP = "0.0.0.0"

// instanceAttrTypes is the object type of one instances entry.
var instanceAttrTypes = map[string]attr.Type{
	"ordinal": types.Int64Type,
	"name":    types.StringType,
	"host":    types.StringType,
	"address": types.StringType,
	// One string per port block, not an object: every value costs every
	// request several walks of the framework (see the performance guide).
	"endpoints": types.ListType{ElemType: types.StringType},
}

var instanceType = types.ObjectType{AttrTypes: instanceAttrTypes}

type instanceModel struct {
	Ordinal types.Int64
	Name    types.String
	Host    types.String
	Address types.String
	// Endpoints are where each port block is published, as host_ip:port.
	Endpoints []types.String
}

// plannedInstances is what instances will be once apply has run actions:
// untouched replicas keep their recorded entry exactly (so a plan with
// nothing to do is empty); created and replaced ones get their identity
// and configured ports, started ones their identity, with what only the
// daemon can tell (address, ports Docker chooses) left unknown.
func plannedInstances(prior []instanceModel, desired []spec.Replica, actions []reconcile.Action) []instanceModel {
	acted := map[int]reconcile.Action{}
	for _, a := range actions {
		// An update in place, or hooks run again, keep the container
		// running: nothing of the instance changes.
		if a.Kind != reconcile.Remove && a.Kind != reconcile.Hold && a.Kind != reconcile.Update && a.Kind != reconcile.Hook {
			acted[a.Ordinal] = a
		}
	}
	kept := map[int]instanceModel{}
	for _, p := range prior {
		if _, seen := kept[int(p.Ordinal.ValueInt64())]; !seen {
			kept[int(p.Ordinal.ValueInt64())] = p
		}
	}
	out := make([]instanceModel, 0, len(desired))
	for _, r := range desired {
		a, touched := acted[r.Ordinal]
		if p, ok := kept[r.Ordinal]; ok && !touched {
			out = append(out, p)
			continue
		}
		entry := instanceModel{
			Ordinal:   types.Int64Value(int64(r.Ordinal)),
			Name:      types.StringValue(r.Name),
			Host:      types.StringValue(r.Host),
			Address:   types.StringUnknown(), // Docker assigns it at every start
			Endpoints: configuredEndpoints(r.Container.Ports),
		}
		if a.Kind == reconcile.Start {
			// Starting keeps the container, and so its ports (a replica held
			// back by the partition keeps the previous ones): the daemon
			// tells them once it runs.
			for i := range entry.Endpoints {
				entry.Endpoints[i] = types.StringUnknown()
			}
		}
		out = append(out, entry)
	}
	return out
}

// configuredEndpoints are where a replica's ports will be published: a
// fixed host port is known from the configuration (rendered for the
// replica), one Docker chooses is not.
func configuredEndpoints(ports []spec.Port) []types.String {
	out := make([]types.String, len(ports))
	for i, p := range ports {
		out[i] = types.StringUnknown()
		if p.External > 0 {
			out[i] = endpoint(p.HostIP, p.External)
		}
	}
	return out
}

// endpoint is host_ip:port, the IP in brackets for IPv6.
func endpoint(hostIP string, port int) types.String {
	return types.StringValue(net.JoinHostPort(orDefault(hostIP, wildcardIP), strconv.Itoa(port)))
}

// observedInstance is a listed container as instances records it; ports
// are the service's port blocks, in order. A port Docker chose is known
// only while the replica runs.
func observedInstance(o reconcile.Observed, ports []spec.Port) instanceModel {
	endpoints := make([]types.String, len(ports))
	for i, p := range ports {
		endpoints[i] = types.StringNull()
		if hostPort := publishedPort(o.Published, p); hostPort > 0 {
			endpoints[i] = endpoint(p.HostIP, hostPort)
		}
	}
	return instanceModel{
		Ordinal:   types.Int64Value(int64(o.Ordinal)),
		Name:      types.StringValue(o.Name),
		Host:      types.StringValue(o.Host),
		Address:   types.StringValue(o.Address),
		Endpoints: endpoints,
	}
}

// publishedPort finds the host port of a port block among a container's
// published ports: the binding on its host address, else any (a daemon
// with IPv6 lists the wildcard twice, as 0.0.0.0 and ::).
func publishedPort(published []reconcile.PublishedPort, p spec.Port) int {
	hostIP := orDefault(p.HostIP, wildcardIP)
	found := 0
	for _, pp := range published {
		if pp.Internal != p.Internal || pp.Protocol != orDefault(p.Protocol, spec.DefaultProtocol) {
			continue
		}
		if pp.HostIP == hostIP {
			return pp.HostPort
		}
		if found == 0 {
			found = pp.HostPort
		}
	}
	return found
}

func observedInstances(observed []reconcile.Observed, ports []spec.Port) []instanceModel {
	out := make([]instanceModel, 0, len(observed))
	for _, o := range observed {
		out = append(out, observedInstance(o, ports))
	}
	return out
}

// appliedInstances fills what the plan left unknown from what apply
// observed, and keeps every value the plan promised, so the result always
// matches the plan; the next refresh records anything that moved since.
func appliedInstances(planned []instanceModel, observed []reconcile.Observed, ports []spec.Port) []instanceModel {
	byOrdinal := preferredByOrdinal(observed)
	out := make([]instanceModel, 0, len(planned))
	for _, p := range planned {
		seen := observedInstance(byOrdinal[int(p.Ordinal.ValueInt64())], ports)
		entry := instanceModel{
			Ordinal:   p.Ordinal,
			Name:      fill(p.Name, seen.Name),
			Host:      fill(p.Host, seen.Host),
			Address:   fill(p.Address, seen.Address),
			Endpoints: make([]types.String, len(p.Endpoints)),
		}
		for i, e := range p.Endpoints {
			entry.Endpoints[i] = e
			if i < len(seen.Endpoints) {
				entry.Endpoints[i] = fill(e, seen.Endpoints[i])
			}
		}
		out = append(out, entry)
	}
	return out
}

// preferredByOrdinal picks one container per ordinal: of duplicates, the
// first running one.
func preferredByOrdinal(observed []reconcile.Observed) map[int]reconcile.Observed {
	out := map[int]reconcile.Observed{}
	for _, o := range observed {
		prev, seen := out[o.Ordinal]
		if !seen || (o.State == reconcile.StateRunning && prev.State != reconcile.StateRunning) {
			out[o.Ordinal] = o
		}
	}
	return out
}

func fill(planned, seen types.String) types.String {
	if planned.IsUnknown() {
		return seen
	}
	return planned
}

// instancesValue builds the instances attribute. It builds the values
// directly: reflection over one object per replica costs more than all
// the rest of a refresh's own work.
func instancesValue(instances []instanceModel) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	elems := make([]attr.Value, 0, len(instances))
	for _, i := range instances {
		endpoints := make([]attr.Value, len(i.Endpoints))
		for k, e := range i.Endpoints {
			endpoints[k] = e
		}
		endpointList, d := types.ListValue(types.StringType, endpoints)
		diags.Append(d...)
		obj, d := types.ObjectValue(instanceAttrTypes, map[string]attr.Value{
			"ordinal": i.Ordinal, "name": i.Name, "host": i.Host, "address": i.Address, "endpoints": endpointList,
		})
		diags.Append(d...)
		elems = append(elems, obj)
	}
	list, d := types.ListValue(instanceType, elems)
	diags.Append(d...)
	return list, diags
}

// instances reads the instances attribute; by hand, like instancesValue.
func (m serviceModel) instances() ([]instanceModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	if m.Instances.IsNull() || m.Instances.IsUnknown() {
		return nil, nil
	}
	out := make([]instanceModel, 0, len(m.Instances.Elements()))
	for _, e := range m.Instances.Elements() {
		a, ok := attributesOf(e)
		if !ok {
			diags.AddError("Unexpected instances value", fmt.Sprintf("an instances entry is a %T; this is a bug in the provider", e))
			return nil, diags
		}
		ordinal, _ := a["ordinal"].(types.Int64)
		name, _ := a["name"].(types.String)
		host, _ := a["host"].(types.String)
		address, _ := a["address"].(types.String)
		entry := instanceModel{Ordinal: ordinal, Name: name, Host: host, Address: address}
		if endpoints, ok := a["endpoints"].(types.List); ok {
			for _, e := range endpoints.Elements() {
				value, _ := e.(types.String)
				entry.Endpoints = append(entry.Endpoints, value)
			}
		}
		out = append(out, entry)
	}
	return out, diags
}

func attributesOf(v attr.Value) (map[string]attr.Value, bool) {
	obj, ok := v.(types.Object)
	if !ok {
		return nil, false
	}
	return obj.Attributes(), true
}

func instancesInto(m *serviceModel, instances []instanceModel) diag.Diagnostics {
	value, diags := instancesValue(instances)
	m.Instances = value
	return diags
}
