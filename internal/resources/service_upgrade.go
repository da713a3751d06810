package resources

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

var _ resource.ResourceWithUpgradeState = &serviceResource{}

// UpgradeState upgrades states of earlier schema versions. Version 0 kept
// container IDs, states, health, fingerprints and volumes in each
// instances entry; version 1 keeps what modules use, and the rest lives in
// private state, written by the refresh that follows every upgrade.
func (r *serviceResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		// No prior schema: the state is taken as JSON, so this upgrader
		// does not depend on how the rest of the schema evolves.
		0: {StateUpgrader: upgradeServiceFromV0},
	}
}

func upgradeServiceFromV0(_ context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
	if req.RawState == nil || req.RawState.JSON == nil {
		resp.Diagnostics.AddError("Cannot upgrade the state", "The stored state of this stateful_service has no JSON form; this is a bug in the provider.")
		return
	}
	upgraded, err := serviceStateV1(req.RawState.JSON)
	if err != nil {
		resp.Diagnostics.AddError("Cannot upgrade the state",
			"The stored state of this stateful_service (schema version 0) cannot be read: "+err.Error()+
				". Remove it with `terraform state rm` and import the service by its name; nothing on the hosts changes.")
		return
	}
	resp.DynamicValue = &tfprotov6.DynamicValue{JSON: upgraded}
}

// serviceStateV1 rewrites a version 0 state: every attribute is kept but
// instances, whose entries keep ordinal, name, host and address and gain
// the endpoints their port blocks publish on (null where Docker chooses
// the port: the refresh that follows fills them in).
func serviceStateV1(raw []byte) ([]byte, error) {
	var state map[string]json.RawMessage
	if err := json.Unmarshal(raw, &state); err != nil {
		return nil, err
	}
	var old []struct {
		Ordinal int64  `json:"ordinal"`
		Name    string `json:"name"`
		Host    string `json:"host"`
		Address string `json:"address"`
	}
	var ports []struct {
		External *int64  `json:"external"`
		HostIP   *string `json:"host_ip"`
	}
	var ordinalStart int64
	for key, target := range map[string]any{"instances": &old, "port": &ports, "ordinal_start": &ordinalStart} {
		if value, ok := state[key]; ok && value != nil {
			if err := json.Unmarshal(value, target); err != nil {
				return nil, err
			}
		}
	}
	type instance struct {
		Ordinal   int64     `json:"ordinal"`
		Name      string    `json:"name"`
		Host      string    `json:"host"`
		Address   string    `json:"address"`
		Endpoints []*string `json:"endpoints"`
	}
	instances := make([]instance, 0, len(old))
	for _, o := range old {
		entry := instance{Ordinal: o.Ordinal, Name: o.Name, Host: o.Host, Address: o.Address, Endpoints: make([]*string, 0, len(ports))}
		for _, p := range ports {
			var e *string
			if p.External != nil {
				hostIP := wildcardIP
				if p.HostIP != nil {
					hostIP = *p.HostIP
				}
				value := endpoint(hostIP, int(*p.External+o.Ordinal-ordinalStart)).ValueString()
				e = &value
			}
			entry.Endpoints = append(entry.Endpoints, e)
		}
		instances = append(instances, entry)
	}
	encoded, err := json.Marshal(instances)
	if err != nil {
		return nil, err
	}
	state["instances"] = encoded
	return json.Marshal(state)
}
