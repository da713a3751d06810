// Command terraform-provider-stateful serves the stateful Terraform provider.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/statefulhq/terraform-provider-stateful/internal/provider"
)

// version and commit are set at build time (goreleaser, `make build`) with
// -ldflags "-X main.version=... -X main.commit=...". The registry serves the
// provider under version; "dev" marks a local build.
var (
	version = "dev"
	commit  = ""
)

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.BoolVar(&showVersion, "version", false, "print the version and commit the binary was built from, and exit")
	flag.Parse()
	if showVersion {
		fmt.Println(versionString())
		return
	}
	quietSDKLogs()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/statefulhq/stateful",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// versionString names the build: "terraform-provider-stateful 0.1.0 (commit
// 1a2b3c)", or without the commit when the build did not record one.
func versionString() string {
	if commit == "" {
		return "terraform-provider-stateful " + version
	}
	return fmt.Sprintf("terraform-provider-stateful %s (commit %s)", version, commit)
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
