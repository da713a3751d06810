// Command terraform-provider-stateful serves the stateful Terraform provider.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/statefulhq/terraform-provider-stateful/internal/provider"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.Parse()
	quietSDKLogs()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/statefulhq/stateful",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// quietSDKLogs sends the plugin SDK's logs at the level Terraform keeps for
// providers (TF_LOG_PROVIDER, else TF_LOG), and none when Terraform keeps
// none. Left at its default, the framework formats a trace line for every
// value of every request, which Terraform then discards: 0.1 s of a
// 100-replica plan of 0.8 s (measured in the performance guide). An
// explicit TF_LOG_SDK is left alone.
func quietSDKLogs() {
	if os.Getenv("TF_LOG_SDK") != "" {
		return
	}
	level := os.Getenv("TF_LOG_PROVIDER")
	if level == "" {
		level = os.Getenv("TF_LOG")
	}
	switch strings.ToUpper(level) {
	case "":
		level = "OFF"
	case "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF":
	default:
		return // Terraform reads any other value as TRACE: keep everything
	}
	_ = os.Setenv("TF_LOG_SDK", level)
}
