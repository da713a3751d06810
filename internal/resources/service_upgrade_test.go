package resources

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// testdata/service-state-v0.json is the state the previous release wrote
// for two replicas with a fixed port, a port Docker chose and a volume.
func TestServiceStateV1KeepsEverythingButTheOldInstanceFields(t *testing.T) {
	raw, err := os.ReadFile("testdata/service-state-v0.json")
	if err != nil {
		t.Fatal(err)
	}
	upgraded, err := serviceStateV1(raw)
	if err != nil {
		t.Fatal(err)
	}
	var before, after map[string]any
	if err := json.Unmarshal(raw, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(upgraded, &after); err != nil {
		t.Fatal(err)
	}
	for key, value := range before {
		if key != "instances" && !reflect.DeepEqual(after[key], value) {
			t.Errorf("%s = %v after the upgrade, want %v", key, after[key], value)
		}
	}
	want := `[` +
		`{"address":"192.168.208.2","endpoints":["127.0.0.1:28180",null],"host":"default","name":"upg-0","ordinal":0},` +
		`{"address":"192.168.208.3","endpoints":["127.0.0.1:28181",null],"host":"default","name":"upg-1","ordinal":1}]`
	got, _ := json.Marshal(after["instances"])
	if string(got) != want {
		t.Fatalf("instances = %s\nwant       %s", got, want)
	}
}

func TestServiceStateV1CountsPortsFromOrdinalStart(t *testing.T) {
	upgraded, err := serviceStateV1([]byte(`{"ordinal_start":3,"port":[{"external":7000,"host_ip":null}],` +
		`"instances":[{"ordinal":4,"name":"x-4","host":"a","address":"","container_id":"c","state":"exited"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"instances":[{"ordinal":4,"name":"x-4","host":"a","address":"","endpoints":["0.0.0.0:7001"]}],"ordinal_start":3,"port":[{"external":7000,"host_ip":null}]}`
	if string(upgraded) != want {
		t.Fatalf("upgraded = %s\nwant       %s", upgraded, want)
	}
}

func TestServiceStateV1RefusesWhatIsNotAState(t *testing.T) {
	if _, err := serviceStateV1([]byte(`{"instances": "no"}`)); err == nil {
		t.Fatal("a mistyped instances value was accepted")
	}
}
