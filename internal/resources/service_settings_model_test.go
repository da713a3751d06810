package resources

import (
	"context"
	"reflect"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Import reads the settings back from the definition label: what fromSpec
// builds, toSpec reads as the same settings.
func TestSettingsModelRoundTrips(t *testing.T) {
	ctx := context.Background()
	want := spec.Settings{
		Memory: "512m", MemoryReservation: "256m", MemorySwap: "-1", CPUs: "1.5", CPUShares: 512, PidsLimit: 100, ShmSize: "1g",
		Ulimits: []spec.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}, Sysctls: map[string]string{"net.core.somaxconn": "1024"},
		Tmpfs: map[string]string{"/tmp": ""}, Init: true, CapAdd: []string{"NET_ADMIN", "SYS_NICE"}, CapDrop: []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"}, ReadOnly: true, WorkingDir: "/data", ExtraHosts: map[string]string{"db": "10.0.0.5"},
		DNS: []string{"10.0.0.2", "10.0.0.1"}, DNSSearch: []string{"internal"}, DNSOptions: []string{"ndots:1"},
		Log: &spec.Log{Driver: "local", Options: map[string]string{"max-size": "1m"}}, GroupAdd: []string{"0", "disk"},
		Networks: []spec.Network{{Name: "proxy", Aliases: []string{"a", "b"}}, {Name: "metrics"}},
	}
	for name, s := range map[string]spec.Settings{"every setting": want, "none": {}} {
		t.Run(name, func(t *testing.T) {
			var m settingsModel
			if diags := m.fromSpec(ctx, s); diags.HasError() {
				t.Fatal(diags)
			}
			got, known, diags := m.toSpec(ctx)
			if diags.HasError() || !known {
				t.Fatalf("toSpec: known %v, %v", known, diags)
			}
			if !reflect.DeepEqual(got, s) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, s)
			}
		})
	}
}
