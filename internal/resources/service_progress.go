package resources

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// logProgress returns the reconcile.ExecOptions.OnDone of a rollout: one
// INFO line per replica action as it completes ("db-2: replaced, healthy
// after 4.1s"), with the service, replica, action, seconds (and host and
// error, when there are) as fields, so that TF_LOG=INFO shows where a long
// rollout is. desired are the replicas the rollout renders (nil for
// removals only).
func logProgress(ctx context.Context, service string, desired []spec.Replica) func(reconcile.Action, time.Duration, error) {
	checked := map[int]bool{}
	hosts := map[int]string{}
	for _, r := range desired {
		checked[r.Ordinal] = r.Container.Health != nil
		hosts[r.Ordinal] = r.Host
	}
	return func(a reconcile.Action, took time.Duration, err error) {
		fields := map[string]any{
			"service": service,
			"replica": a.Name,
			"action":  string(a.Kind),
			"seconds": math.Round(took.Seconds()*10) / 10,
		}
		host := a.Host
		if a.Kind == reconcile.Create || a.Kind == reconcile.Replace {
			host = hosts[a.Ordinal]
		}
		if host != "" {
			fields["host"] = host
		}
		if err != nil {
			fields["error"] = err.Error()
		}
		tflog.Info(ctx, progressMessage(a, took, err, checked[a.Ordinal]), fields)
	}
}

// progressMessage says what happened to one replica: "db-3: created, ready
// after 1.2s", "db-4: removed", "db-2: replace failed after 30.0s: ...".
// healthCheck says the replica has a health check, so that ready means
// healthy.
func progressMessage(a reconcile.Action, took time.Duration, err error, healthCheck bool) string {
	after := seconds(took)
	if err != nil {
		return fmt.Sprintf("%s: %s failed after %s: %v", a.Name, a.Kind, after, err)
	}
	ready := "ready"
	if healthCheck {
		ready = "healthy"
	}
	switch a.Kind {
	case reconcile.Create:
		return fmt.Sprintf("%s: created, %s after %s", a.Name, ready, after)
	case reconcile.Start:
		return fmt.Sprintf("%s: started, %s after %s", a.Name, ready, after)
	case reconcile.Replace:
		return fmt.Sprintf("%s: replaced, %s after %s", a.Name, ready, after)
	case reconcile.Remove:
		return a.Name + ": removed"
	case reconcile.Update:
		return a.Name + ": updated in place"
	}
	return fmt.Sprintf("%s: %s done after %s", a.Name, a.Kind, after)
}

// seconds shows a duration to a tenth of a second ("0.8s", "4.1s"), and
// whole seconds from a minute on ("31m5s").
func seconds(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
