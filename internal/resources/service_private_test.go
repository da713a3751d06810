package resources

import (
	"context"
	"reflect"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
)

func TestReplicaRecordKeepsWhatPlanningNeeds(t *testing.T) {
	ctx := context.Background()
	observed := []reconcile.Observed{
		{ID: "c0", Name: "db-0", Host: "a", Ordinal: 0, Fingerprint: "f1", State: "running", Health: "healthy", Spec: `{"name":"db"}`},
		{ID: "c1", Name: "db-1", Host: "b", Ordinal: 1, Fingerprint: "f1", State: "exited", Spec: `{"name":"db"}`},
		{ID: "c2", Name: "db-2", Host: "a", Ordinal: 2, Fingerprint: "f0", State: "created", Spec: `{"name":"db","env":{}}`},
	}
	store := memoryPrivate{}
	if _, ok := recordedObservations(ctx, store); ok {
		t.Fatal("an empty private state has a record")
	}
	if diags := recordReplicas(ctx, store, observed); diags.HasError() {
		t.Fatal(diags)
	}
	got, ok := recordedObservations(ctx, store)
	if !ok || !reflect.DeepEqual(got, observed) {
		t.Fatalf("recorded %v (ok %v), want %v", got, ok, observed)
	}
	if n := len(store[privateReplicas]); n > 450 {
		t.Errorf("the record takes %d bytes; definitions shared by replicas should be stored once", n)
	}
}
