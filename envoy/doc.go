// Package envoy holds the Envoy configurations that users copy (envoy.yaml,
// envoy-routing.yaml, docker-compose.yaml) and the code that loads them into
// go-control-plane's typed protos, so that tests here (and the end-to-end
// tests, through LoadExtProcFilter) use exactly the filter users deploy.
//
// A wrong field in a shipped file is an outage for whoever copies it, so
// every file is parsed strictly (unknown fields and unknown @types are
// errors), validated with the protos' own rules, and checked against the
// wiring that SPEC §1 prescribes.
package envoy
