package docker

import (
	"strings"
	"testing"
)

func TestAdvertiseAddress(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoint: "tcp://10.0.0.2:2376"}, "10.0.0.2"},
		{Config{Endpoint: "ssh://deploy@db3.example:2222"}, "db3.example"},
		{Config{Endpoint: "unix:///var/run/docker.sock"}, ""},
		{Config{Endpoint: "unix:///var/run/docker.sock", AdvertiseAddress: "192.168.1.5"}, "192.168.1.5"},
		{Config{Endpoint: "tcp://10.0.0.2:2376", AdvertiseAddress: "203.0.113.7"}, "203.0.113.7"},
	} {
		if got := NewHost(tc.cfg).AdvertiseAddress(); got != tc.want {
			t.Errorf("%+v: AdvertiseAddress() = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

func TestLookupNamesTheConfiguredHosts(t *testing.T) {
	hosts := NewHosts([]Config{{Name: "a"}, {Name: "b"}})
	if h, err := hosts.Lookup(""); err != nil || h.Name() != "a" {
		t.Fatalf("Lookup(\"\") = %v, %v; want the first host", h, err)
	}
	if _, err := hosts.Lookup("z"); err == nil || !strings.Contains(err.Error(), `no host named "z" is configured in the provider (it has: a, b)`) {
		t.Fatalf("err = %v", err)
	}
}
