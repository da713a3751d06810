// Command workload-image builds the project's test workload image
// (stateful-workload:v1 and :v2) on the local Docker daemon, for the demo.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

func main() {
	if err := acctest.BuildWorkloadImages(context.Background(), acctest.Local()); err != nil {
		fmt.Fprintln(os.Stderr, "workload-image:", err)
		os.Exit(1)
	}
	fmt.Printf("built %s and %s\n", acctest.WorkloadImageV1, acctest.WorkloadImageV2)
}
