// Package realsoftware holds acceptance tests that run real stateful
// software through the provider, as its users run it: an etcd cluster,
// PostgreSQL with streaming standbys and Redis with an append-only file,
// from an image of Debian bookworm's packages built locally
// (scripts/real-images; acctest.BuildRealImages). They assert what the
// software itself reports, through its own clients.
package realsoftware
