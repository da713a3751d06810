package spec

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func placed(s Service, current, remembered map[int]string, localData bool) (map[int]string, error) {
	return s.Place("default", current, remembered, localData)
}

func TestPlaceWithoutPlacementUsesTheDefaultHost(t *testing.T) {
	got, err := placed(Service{Name: "db", Replicas: 2}, nil, nil, false)
	if err != nil || !reflect.DeepEqual(got, map[int]string{0: "default", 1: "default"}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestPlaceStrategies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		placement Placement
		replicas  int
		current   map[int]string
		want      map[int]string
	}{
		{"spread alternates", Placement{Hosts: []string{"a", "b"}, Strategy: PlaceSpread}, 4, nil,
			map[int]string{0: "a", 1: "b", 2: "a", 3: "b"}},
		{"spread fills the emptier host", Placement{Hosts: []string{"a", "b"}, Strategy: PlaceSpread}, 4, map[int]string{0: "a", 1: "a"},
			map[int]string{0: "a", 1: "a", 2: "b", 3: "b"}},
		{"pack fills hosts in order", Placement{Hosts: []string{"a", "b"}, Strategy: PlacePack, MaxPerHost: 3}, 4, nil,
			map[int]string{0: "a", 1: "a", 2: "a", 3: "b"}},
		{"pack without a cap uses the first host", Placement{Hosts: []string{"b", "a"}, Strategy: PlacePack}, 3, nil,
			map[int]string{0: "b", 1: "b", 2: "b"}},
		{"pins win", Placement{Hosts: []string{"a", "b"}, Strategy: PlacePinned, Pinned: map[int]string{0: "b", 1: "b", 2: "a"}}, 3, nil,
			map[int]string{0: "b", 1: "b", 2: "a"}},
		{"pins override spread for some ordinals", Placement{Hosts: []string{"a", "b"}, Strategy: PlaceSpread, Pinned: map[int]string{0: "b"}}, 3, nil,
			map[int]string{0: "b", 1: "a", 2: "a"}},
		{"placed replicas are sticky", Placement{Hosts: []string{"a", "b", "c"}, Strategy: PlaceSpread}, 3, map[int]string{0: "c", 1: "c", 2: "b"},
			map[int]string{0: "c", 1: "c", 2: "b"}},
		{"a host leaving moves only its replicas", Placement{Hosts: []string{"a", "b"}, Strategy: PlaceSpread}, 3, map[int]string{0: "c", 1: "a", 2: "b"},
			map[int]string{0: "a", 1: "a", 2: "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.placement
			s := Service{Name: "db", Replicas: tc.replicas, Placement: &p}
			if errs := s.validatePlacement(); len(errs) > 0 {
				t.Fatalf("validatePlacement: %v", errs)
			}
			got, err := placed(s, tc.current, nil, false)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestPlaceReturnsScaledUpReplicasToTheirData(t *testing.T) {
	s := Service{Name: "db", Replicas: 4, Placement: &Placement{Hosts: []string{"a", "b"}, Strategy: PlaceSpread}}
	got, err := placed(s, map[int]string{0: "a", 1: "b"}, map[int]string{2: "b", 3: "b"}, true)
	want := map[int]string{0: "a", 1: "b", 2: "b", 3: "b"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
}

func TestPlaceRefusesToMoveLocalDataWithoutOptIn(t *testing.T) {
	s := Service{Name: "db", Replicas: 2, Placement: &Placement{Hosts: []string{"a", "b"}, Strategy: PlacePinned, Pinned: map[int]string{0: "a", 1: "a"}}}
	current := map[int]string{0: "a", 1: "b"}
	_, err := placed(s, current, nil, true)
	var moves *LocalDataMoveError
	if !errors.As(err, &moves) || len(moves.Moves) != 1 || moves.Moves[0] != (Move{Ordinal: 1, Name: "db-1", From: "b", To: "a"}) {
		t.Fatalf("err = %v, want the move of db-1 from b to a", err)
	}
	for _, want := range []string{`db-1: from host "b" to host "a"`, "WITHOUT that data", "allow_local_data_move = true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	if _, err := placed(s, current, nil, false); err != nil {
		t.Errorf("a service without local data moves freely: %v", err)
	}
	s.Placement.AllowLocalDataMove = true
	if got, err := placed(s, current, nil, true); err != nil || got[1] != "a" {
		t.Errorf("opted in: got %v, %v", got, err)
	}
}

func TestPlaceRefusesToMoveRetainedLocalData(t *testing.T) {
	s := Service{Name: "db", Replicas: 2, Placement: &Placement{Hosts: []string{"a"}, Strategy: PlaceSpread}}
	_, err := placed(s, map[int]string{0: "a"}, map[int]string{1: "b"}, true)
	if err == nil || !strings.Contains(err.Error(), `db-1: from host "b" to host "a"`) {
		t.Fatalf("err = %v, want the move of db-1's retained data refused", err)
	}
}

func TestLocalData(t *testing.T) {
	for _, tc := range []struct {
		volume Volume
		want   bool
	}{
		{Volume{Host: &HostVolume{Path: "/srv"}}, true},
		{Volume{Plugin: &PluginVolume{Driver: "local"}}, true},
		{Volume{Plugin: &PluginVolume{Driver: "rexray/ebs"}}, false},
		{Volume{Shared: &SharedVolume{Type: "nfs"}}, false},
	} {
		if got := (Service{Volumes: []Volume{tc.volume}}).LocalData(); got != tc.want {
			t.Errorf("LocalData(%+v) = %v, want %v", tc.volume, got, tc.want)
		}
	}
}

func TestValidatePlacement(t *testing.T) {
	for _, tc := range []struct {
		name    string
		service Service
		want    string
	}{
		{"no hosts", Service{Replicas: 1, Placement: &Placement{Strategy: PlaceSpread}}, "placement.hosts: list at least one host"},
		{"duplicate host", Service{Replicas: 1, Placement: &Placement{Hosts: []string{"a", "a"}, Strategy: PlaceSpread}}, `"a" is listed twice`},
		{"bad strategy", Service{Replicas: 1, Placement: &Placement{Hosts: []string{"a"}, Strategy: "random"}}, `placement.strategy: "random" is not one of spread, pack, pinned`},
		{"pin outside hosts", Service{Replicas: 1, Placement: &Placement{Hosts: []string{"a"}, Strategy: PlaceSpread, Pinned: map[int]string{0: "b"}}},
			`ordinal 0 is pinned to "b", which is not in placement.hosts`},
		{"pinned needs every ordinal", Service{Replicas: 3, Placement: &Placement{Hosts: []string{"a"}, Strategy: PlacePinned, Pinned: map[int]string{0: "a"}}},
			"ordinals 1, 2 have none"},
		{"pack cap too small", Service{Replicas: 5, Placement: &Placement{Hosts: []string{"a", "b"}, Strategy: PlacePack, MaxPerHost: 2}},
			"hold 4 replicas, not 5"},
		{"cluster port not published", Service{Replicas: 2, Cluster: &Cluster{Seeds: 1, Port: 7000}, Placement: &Placement{Hosts: []string{"a", "b"}, Strategy: PlaceSpread}},
			"add ports { internal = 7000, external = <first host port> }"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.service.validatePlacement()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errs = %v, want one containing %q", errs, tc.want)
			}
		})
	}
}

func TestSeedsAcrossHostsUseAdvertisedAddressesAndPublishedPorts(t *testing.T) {
	s := Service{
		Name: "kv", Replicas: 3, OrdinalStart: 1,
		Ports:     []Port{{Internal: 7000, External: 17001, Protocol: "tcp"}},
		Cluster:   &Cluster{Seeds: 2, Port: 7000},
		Placement: &Placement{Hosts: []string{"a", "b"}, Strategy: PlaceSpread},
		Placed:    map[int]string{1: "a", 2: "b", 3: "a"},
		Advertise: map[string]string{"a": "10.0.0.1", "b": "10.0.0.2"},
	}
	seeds, err := s.Seeds()
	if want := []string{"10.0.0.1:17001", "10.0.0.2:17002"}; err != nil || !reflect.DeepEqual(seeds, want) {
		t.Fatalf("Seeds = %v, %v; want %v", seeds, err, want)
	}
	replicas, err := s.WithDefaults().Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range replicas {
		if r.Host != s.Placed[r.Ordinal] {
			t.Errorf("%s: Host = %q, want %q", r.Name, r.Host, s.Placed[r.Ordinal])
		}
	}
	s.Env = map[string]string{"ADVERTISE": "{{.Address}}:{{.Port}}", "ON": "{{.Host}}"}
	replicas, err = s.WithDefaults().Render()
	if err != nil {
		t.Fatal(err)
	}
	if env := replicas[1].Container.Env; !slices.Contains(env, "ADVERTISE=10.0.0.2:17002") || !slices.Contains(env, "ON=b") {
		t.Errorf("kv-2's env %v lacks its advertised address, port and host", env)
	}
	single := s
	single.Placement, single.Placed, single.Advertise = nil, nil, nil
	if seeds, _ := single.Seeds(); !reflect.DeepEqual(seeds, []string{"kv-1:7000", "kv-2:7000"}) {
		t.Errorf("on one host, seeds are names: %v", seeds)
	}
}
