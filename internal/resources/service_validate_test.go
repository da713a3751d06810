package resources

import (
	"context"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

func TestAttributePathOfValidationErrors(t *testing.T) {
	ctx := context.Background()
	s := serviceSchema(ctx)
	cases := map[string]string{
		`volume[0].host.path: replicas 0 and 1 would share /srv`: `volume[0].host.path`,
		`volume[1].target: "data" is not an absolute path`:       `volume[1].target`,
		`volume[0].host.path "x" is not absolute`:                `volume[0].host.path`,
		`cluster.seeds: 3 seeds need at least 3 replicas`:        `cluster.seeds`,
		`cluster.env and cluster.members_env are both X`:         `cluster.env`,
		`port[0] and port[1]: the external port ranges overlap`:  `port[0]`,
		`update.partition: -1 must not be negative`:              `update.partition`,
		`placement.pinned: ordinal 2 is pinned to "c"`:           `placement.pinned`,
		`name: replica name "x" would exceed 63 characters`:      `name`,
		`env sets SEEDS, which cluster.env fills`:                `env`,
		`secret[2].name: "a/b" must be a plain file name`:        `secret[2].name`,
		`volumes "a" and "b" would both use the Docker volume`:   ``, // no such attribute
		`something else went wrong`:                              ``,
		`Volume "x": bad`:                                        ``,
	}
	for message, want := range cases {
		p, ok := attributePath(ctx, s, message)
		got := ""
		if ok {
			got = p.String()
		}
		if got != want {
			t.Errorf("%q: path %q, want %q", message, got, want)
		}
	}
}

// Every message Validate produces for a broken service is reported at an
// attribute of the schema.
func TestValidationErrorsOfABrokenServicePointAtAttributes(t *testing.T) {
	ctx := context.Background()
	s := serviceSchema(ctx)
	svc := spec.Service{
		Name: "db", Image: "img", Replicas: 2, Restart: spec.DefaultRestart, StopGracePeriod: "1s",
		Ports:   []spec.Port{{Internal: 1, External: 100, Protocol: "tcp"}, {Internal: 2, External: 101, Protocol: "tcp"}},
		Volumes: []spec.Volume{{Name: "data", Target: "data", PerReplica: true, Host: &spec.HostVolume{Path: "/srv/db"}}},
		Cluster: &spec.Cluster{Seeds: 3},
		Update:  spec.UpdatePolicy{Partition: -1},
	}
	errs := svc.WithDefaults().Validate()
	if len(errs) < 4 {
		t.Fatalf("want at least 4 errors, got %v", errs)
	}
	for _, err := range errs {
		if _, ok := attributePath(ctx, s, err.Error()); !ok {
			t.Errorf("no attribute for %q", err)
		}
	}
}
