package carry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const thing = "test_thing"

var (
	instanceType  = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"name": tftypes.String, "ordinal": tftypes.Number}}
	instancesType = tftypes.List{ElementType: instanceType}
	thingType     = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"name": tftypes.String, "instances": instancesType}}
)

// inner is the wrapped server: it records the states it receives and
// answers with what respond returns.
type inner struct {
	tfprotov6.ProviderServer // unused methods are not called
	received                 []tftypes.Value
	respond                  func(ctx context.Context, state tftypes.Value) tftypes.Value
}

func (s *inner) GetProviderSchema(context.Context, *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	block := &tfprotov6.SchemaBlock{Attributes: []*tfprotov6.SchemaAttribute{
		{Name: "name", Type: tftypes.String, Required: true},
		{Name: "instances", Type: instancesType, Computed: true},
	}}
	return &tfprotov6.GetProviderSchemaResponse{ResourceSchemas: map[string]*tfprotov6.Schema{
		thing: {Block: block}, "test_other": {Block: block},
	}}, nil
}

func (s *inner) receive(ctx context.Context, states ...*tfprotov6.DynamicValue) *tfprotov6.DynamicValue {
	var last tftypes.Value
	for _, dv := range states {
		v, err := dv.Unmarshal(thingType)
		if err != nil {
			panic(err)
		}
		s.received = append(s.received, v)
		last = v
	}
	return encode(s.respond(ctx, last))
}

func (s *inner) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return &tfprotov6.ReadResourceResponse{NewState: s.receive(ctx, req.CurrentState)}, nil
}

func (s *inner) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return &tfprotov6.PlanResourceChangeResponse{PlannedState: s.receive(ctx, req.PriorState, req.ProposedNewState)}, nil
}

func (s *inner) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return &tfprotov6.ApplyResourceChangeResponse{NewState: s.receive(ctx, req.PriorState, req.PlannedState)}, nil
}

func (s *inner) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	v, err := req.RawState.Unmarshal(thingType)
	if err != nil {
		return nil, err
	}
	s.received = append(s.received, v)
	return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: encode(s.respond(ctx, v))}, nil
}

func wrap(t *testing.T, in *inner) tfprotov6.ProviderServer {
	t.Helper()
	s, err := Wrap(context.Background(), in, thing, "instances")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func instances(names ...string) tftypes.Value {
	values := make([]tftypes.Value, len(names))
	for i, name := range names {
		values[i] = tftypes.NewValue(instanceType, map[string]tftypes.Value{
			"name": tftypes.NewValue(tftypes.String, name), "ordinal": tftypes.NewValue(tftypes.Number, i),
		})
	}
	return tftypes.NewValue(instancesType, values)
}

func state(insts tftypes.Value) tftypes.Value {
	return tftypes.NewValue(thingType, map[string]tftypes.Value{"name": tftypes.NewValue(tftypes.String, "db"), "instances": insts})
}

var (
	nullInstances    = tftypes.NewValue(instancesType, nil)
	unknownInstances = tftypes.NewValue(instancesType, tftypes.UnknownValue)
)

func encode(v tftypes.Value) *tfprotov6.DynamicValue {
	dv, err := tfprotov6.NewDynamicValue(thingType, v)
	if err != nil {
		panic(err)
	}
	return &dv
}

func instancesOf(t *testing.T, dv *tfprotov6.DynamicValue) tftypes.Value {
	t.Helper()
	v, err := dv.Unmarshal(thingType)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		t.Fatal(err)
	}
	return attrs["instances"]
}

// echo answers with the state received, after handing hand (if set).
func echo(hand *tftypes.Value) func(context.Context, tftypes.Value) tftypes.Value {
	return func(ctx context.Context, v tftypes.Value) tftypes.Value {
		if hand != nil {
			if !Active(ctx) {
				panic("no carrier")
			}
			Hand(ctx, "instances", *hand)
		}
		return v
	}
}

func TestReadTakesTheAttributeAndPutsWhatIsHanded(t *testing.T) {
	prior, fresh := instances("db-0", "db-1"), instances("db-0", "db-1", "db-2")
	var taken tftypes.Value
	in := &inner{respond: func(ctx context.Context, v tftypes.Value) tftypes.Value {
		taken, _ = Taken(ctx, Prior, "instances")
		return echo(&fresh)(ctx, v)
	}}
	resp, err := wrap(t, in).ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: thing, CurrentState: encode(state(prior))})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.received[0]; !got.Equal(state(nullInstances)) {
		t.Errorf("the framework received %v, want instances null", got)
	}
	if !taken.Equal(prior) {
		t.Errorf("Taken = %v, want the current state's %v", taken, prior)
	}
	if got := instancesOf(t, resp.NewState); !got.Equal(fresh) {
		t.Errorf("new state instances = %v, want the handed %v", got, fresh)
	}
}

func TestPlanWithNothingHanded(t *testing.T) {
	prior := instances("db-0")
	for name, tc := range map[string]struct {
		planned, want tftypes.Value
	}{
		"null keeps the prior value":     {planned: nullInstances, want: prior},
		"unknown stays unknown":          {planned: unknownInstances, want: unknownInstances},
		"a value the framework set wins": {planned: instances("x"), want: instances("x")},
	} {
		t.Run(name, func(t *testing.T) {
			in := &inner{respond: func(context.Context, tftypes.Value) tftypes.Value { return state(tc.planned) }}
			resp, err := wrap(t, in).PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
				TypeName: thing, PriorState: encode(state(prior)), ProposedNewState: encode(state(prior)),
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, got := range in.received {
				if !got.Equal(state(nullInstances)) {
					t.Errorf("request state %d reached the framework as %v, want instances null", i, got)
				}
			}
			if got := instancesOf(t, resp.PlannedState); !got.Equal(tc.want) {
				t.Errorf("planned instances = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestApplyTakesPriorAndPlanned(t *testing.T) {
	prior := instances("db-0")
	planned := tftypes.NewValue(instancesType, []tftypes.Value{tftypes.NewValue(instanceType, map[string]tftypes.Value{
		"name": tftypes.NewValue(tftypes.String, "db-0"), "ordinal": tftypes.NewValue(tftypes.Number, tftypes.UnknownValue),
	})})
	applied := instances("db-0")
	var gotPrior, gotPlanned tftypes.Value
	in := &inner{respond: func(ctx context.Context, v tftypes.Value) tftypes.Value {
		gotPrior, _ = Taken(ctx, Prior, "instances")
		gotPlanned, _ = Taken(ctx, Planned, "instances")
		return echo(&applied)(ctx, v)
	}}
	resp, err := wrap(t, in).ApplyResourceChange(context.Background(), &tfprotov6.ApplyResourceChangeRequest{
		TypeName: thing, PriorState: encode(state(prior)), PlannedState: encode(state(planned)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !gotPrior.Equal(prior) || !gotPlanned.Equal(planned) {
		t.Errorf("Taken gave prior %v and planned %v, want %v and %v", gotPrior, gotPlanned, prior, planned)
	}
	if got := instancesOf(t, resp.NewState); !got.Equal(applied) {
		t.Errorf("new state instances = %v, want %v", got, applied)
	}
}

func TestOtherResourceTypesPassThrough(t *testing.T) {
	prior := instances("db-0")
	carried := true
	in := &inner{respond: func(ctx context.Context, v tftypes.Value) tftypes.Value {
		carried = Active(ctx)
		return v
	}}
	resp, err := wrap(t, in).ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: "test_other", CurrentState: encode(state(prior))})
	if err != nil {
		t.Fatal(err)
	}
	if carried {
		t.Error("a resource type that is not carried got a carrier")
	}
	if got := instancesOf(t, resp.NewState); !got.Equal(prior) {
		t.Errorf("instances = %v, want them untouched: %v", got, prior)
	}
}

func TestUpgradeCarriesTheStoredJSON(t *testing.T) {
	stored := `{"name":"db","instances":[{"name":"db-0","ordinal":0},{"name":"db-1","ordinal":1}]}`
	in := &inner{respond: func(_ context.Context, v tftypes.Value) tftypes.Value { return v }}
	resp, err := wrap(t, in).UpgradeResourceState(context.Background(), &tfprotov6.UpgradeResourceStateRequest{
		TypeName: thing, RawState: &tfprotov6.RawState{JSON: []byte(stored)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.received[0]; !got.Equal(state(nullInstances)) {
		t.Errorf("the framework upgraded %v, want instances null", got)
	}
	if got := instancesOf(t, resp.UpgradedState); !got.Equal(instances("db-0", "db-1")) {
		t.Errorf("upgraded instances = %v", got)
	}
}

func TestUpgradeOfAnOlderVersionIsNotCarried(t *testing.T) {
	stored := `{"name":"db","instances":[{"name":"db-0","ordinal":0}]}`
	in := &inner{respond: func(_ context.Context, v tftypes.Value) tftypes.Value { return v }}
	resp, err := wrap(t, in).UpgradeResourceState(context.Background(), &tfprotov6.UpgradeResourceStateRequest{
		TypeName: thing, Version: 1, RawState: &tfprotov6.RawState{JSON: []byte(stored)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.received[0]; !got.Equal(state(instances("db-0"))) {
		t.Errorf("the framework's upgraders got %v, want the whole stored state", got)
	}
	if got := instancesOf(t, resp.UpgradedState); !got.Equal(instances("db-0")) {
		t.Errorf("upgraded instances = %v", got)
	}
}

func TestStatesTheFastDecoderRefusesGoToTheFramework(t *testing.T) {
	// tftypes reads a number from a JSON string; the fast decoder does not.
	stored := `{"name":"db","instances":[{"name":"db-0","ordinal":"0"}]}`
	in := &inner{respond: func(_ context.Context, v tftypes.Value) tftypes.Value { return v }}
	resp, err := wrap(t, in).UpgradeResourceState(context.Background(), &tfprotov6.UpgradeResourceStateRequest{
		TypeName: thing, RawState: &tfprotov6.RawState{JSON: []byte(stored)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := instancesOf(t, resp.UpgradedState); !got.Equal(instances("db-0")) {
		t.Errorf("upgraded instances = %v, want the framework's reading of the stored ones", got)
	}
}

func TestAWronglyTypedHandIsAnErrorNotACrash(t *testing.T) {
	wrong := tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{tftypes.NewValue(tftypes.String, "db-0")})
	in := &inner{respond: echo(&wrong)}
	current := encode(state(instances("db-0")))
	resp, err := wrap(t, in).ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: thing, CurrentState: current})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Diagnostics) != 1 || !strings.Contains(resp.Diagnostics[0].Detail, "instances was handed as") {
		t.Fatalf("diagnostics = %v, want one naming the mistyped attribute", resp.Diagnostics)
	}
	if got := instancesOf(t, resp.NewState); !got.IsNull() {
		t.Errorf("instances = %v, want the framework's state left as it was", got)
	}
}

func TestUnknownAttributeIsRefused(t *testing.T) {
	_, err := Wrap(context.Background(), &inner{}, thing, "replicas")
	if err == nil || !strings.Contains(err.Error(), `no attribute "replicas"`) {
		t.Errorf("err = %v, want the missing attribute named", err)
	}
}

func TestValueFromJSONDecodesLikeTftypes(t *testing.T) {
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"s": tftypes.String, "n": tftypes.Number, "b": tftypes.Bool,
		"l": tftypes.List{ElementType: tftypes.String}, "set": tftypes.Set{ElementType: tftypes.Number},
		"m": tftypes.Map{ElementType: tftypes.Bool}, "null": tftypes.String,
		"o": tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"x": tftypes.Number}}},
		"t": tftypes.Tuple{ElementTypes: []tftypes.Type{tftypes.String, tftypes.Number}},
	}}
	raw := `{"s":"a\"b","n":12345678901234567890.5,"b":true,"l":["x","y"],"set":[1,2],"m":{"k":false},"null":null,"o":[{"x":-1e3}],"t":["z",3]}`
	want, err := tfprotov6.RawState{JSON: []byte(raw)}.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	got, err := valueFromJSON(typ, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if diffs, _ := got.Diff(want); len(diffs) > 0 {
		t.Errorf("valueFromJSON differs from tftypes: %v", diffs)
	}
	if _, err := valueFromJSON(typ, []byte(`{"s":1}`)); err == nil || !strings.Contains(err.Error(), `AttributeName("s")`) {
		t.Errorf("err = %v, want the mistyped attribute named", err)
	}
	// A stored attribute the type no longer has is dropped.
	if _, err := valueFromJSON(instanceType, []byte(`{"name":"db-0","ordinal":0,"health":"healthy"}`)); err != nil {
		t.Errorf("an attribute the type dropped: %v", err)
	}
}

func storedInstances(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"db-%d","ordinal":%d}`, i, i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// BenchmarkValueFromJSON decodes a stored 100-replica list, against
// tfprotov6.RawState.Unmarshal (the tftypes case).
func BenchmarkValueFromJSON(b *testing.B) {
	raw := storedInstances(100)
	if !json.Valid(raw) {
		b.Fatal("invalid JSON")
	}
	b.Run("carry", func(b *testing.B) {
		for b.Loop() {
			if _, err := valueFromJSON(instancesType, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tftypes", func(b *testing.B) {
		for b.Loop() {
			if _, err := (tfprotov6.RawState{JSON: raw}).Unmarshal(instancesType); err != nil {
				b.Fatal(err)
			}
		}
	})
}
