// Package e2e holds orgraph's end-to-end tests: each test starts a real server (graphapi over the embedded
// SQLite store, on a loopback httptest server) and talks to it with the official Microsoft Graph Go SDK
// (msgraph-sdk-go), built as an application builds it, falling back to plain net/http only where the SDK has
// no builder or a test checks wire details. The package has no non-test code: keeping every such test in
// one package compiles the SDK, which is large, only once.
package e2e
