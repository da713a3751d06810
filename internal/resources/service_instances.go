package resources

import (
	"fmt"

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
	"ports":   types.ListType{ElemType: types.ObjectType{AttrTypes: endpointAttrTypes}},
}

// endpointAttrTypes is where one port block of one replica is published.
var endpointAttrTypes = map[string]attr.Type{
	"host_ip":   types.StringType,
	"host_port": types.Int64Type,
}

var instanceType = types.ObjectType{AttrTypes: instanceAttrTypes}

var endpointType = types.ObjectType{AttrTypes: endpointAttrTypes}

type instanceModel struct {
	Ordinal types.Int64
	Name    types.String
	Host    types.String
	Address types.String
	Ports   []endpointModel
}

type endpointModel struct {
	HostIP   types.String
	HostPort types.Int64
}

// plannedInstances is what instances will be once apply has run actions:
// untouched replicas keep their recorded entry exactly (so a plan with
// nothing to do is empty); created and replaced ones get their identity
// and configured ports, started ones their identity, with what only the
// daemon can tell (address, ports Docker chooses) left unknown.
func plannedInstances(prior []instanceModel, desired []spec.Replica, actions []reconcile.Action) []instanceModel {
	acted := map[int]reconcile.Action{}
	for _, a := range actions {
		if a.Kind != reconcile.Remove && a.Kind != reconcile.Hold {
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
			Ordinal: types.Int64Value(int64(r.Ordinal)),
			Name:    types.StringValue(r.Name),
			Host:    types.StringValue(r.Host),
			Address: types.StringUnknown(), // Docker assigns it at every start
			Ports:   configuredEndpoints(r.Container.Ports),
		}
		if a.Kind == reconcile.Start {
			// Starting keeps the container, and so its ports (a replica held
			// back by the partition keeps the previous ones): the daemon
			// tells them once it runs.
			for i := range entry.Ports {
				entry.Ports[i].HostPort = types.Int64Unknown()
			}
		}
		out = append(out, entry)
	}
	return out
}

// configuredEndpoints are where a replica's ports will be published: a
// fixed host port is known from the configuration, one Docker chooses is
// not.
func configuredEndpoints(ports []spec.Port) []endpointModel {
	out := make([]endpointModel, len(ports))
	for i, p := range ports {
		out[i] = endpointModel{HostIP: types.StringValue(orDefault(p.HostIP, wildcardIP)), HostPort: types.Int64Unknown()}
		if p.External > 0 {
			out[i].HostPort = types.Int64Value(int64(p.External))
		}
	}
	return out
}

// observedInstance is a listed container as instances records it; ports
// are the service's port blocks, in order.
func observedInstance(o reconcile.Observed, ports []spec.Port) instanceModel {
	endpoints := make([]endpointModel, len(ports))
	for i, p := range ports {
		hostIP := orDefault(p.HostIP, wildcardIP)
		endpoints[i] = endpointModel{HostIP: types.StringValue(hostIP), HostPort: types.Int64Null()}
		if hostPort := publishedPort(o.Published, p, hostIP); hostPort > 0 {
			endpoints[i].HostPort = types.Int64Value(int64(hostPort))
		}
	}
	return instanceModel{
		Ordinal: types.Int64Value(int64(o.Ordinal)),
		Name:    types.StringValue(o.Name),
		Host:    types.StringValue(o.Host),
		Address: types.StringValue(o.Address),
		Ports:   endpoints,
	}
}

// publishedPort finds the host port of a port block among a container's
// published ports: the binding on its host address, else any (a daemon
// with IPv6 lists the wildcard twice, as 0.0.0.0 and ::).
func publishedPort(published []reconcile.PublishedPort, p spec.Port, hostIP string) int {
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
			Ordinal: p.Ordinal,
			Name:    fill(p.Name, seen.Name),
			Host:    fill(p.Host, seen.Host),
			Address: fill(p.Address, seen.Address),
			Ports:   make([]endpointModel, len(p.Ports)),
		}
		for i, e := range p.Ports {
			entry.Ports[i] = e
			if e.HostPort.IsUnknown() && i < len(seen.Ports) {
				entry.Ports[i].HostPort = seen.Ports[i].HostPort
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
	var diags, d diag.Diagnostics
	elems := make([]attr.Value, 0, len(instances))
	for _, i := range instances {
		ports := make([]attr.Value, 0, len(i.Ports))
		for _, e := range i.Ports {
			var port attr.Value
			port, d = types.ObjectValue(endpointAttrTypes, map[string]attr.Value{"host_ip": e.HostIP, "host_port": e.HostPort})
			diags.Append(d...)
			ports = append(ports, port)
		}
		portList, d := types.ListValue(endpointType, ports)
		diags.Append(d...)
		obj, d := types.ObjectValue(instanceAttrTypes, map[string]attr.Value{
			"ordinal": i.Ordinal, "name": i.Name, "host": i.Host, "address": i.Address, "ports": portList,
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
		if ports, ok := a["ports"].(types.List); ok {
			for _, p := range ports.Elements() {
				pa, _ := attributesOf(p)
				hostIP, _ := pa["host_ip"].(types.String)
				hostPort, _ := pa["host_port"].(types.Int64)
				entry.Ports = append(entry.Ports, endpointModel{HostIP: hostIP, HostPort: hostPort})
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
