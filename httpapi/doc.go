// Package httpapi is muster's HTTP server: the JSON API under /api/ over a
// muster.Store, operator authentication by bearer token, evacuees'
// capability links, the threat picture, server-sent events, health,
// readiness, Prometheus metrics and the OpenAPI document.
//
// Every endpoint is one Route in one table (Server.Routes): its method and
// path, who may call it (anyone, the operator roles it names, or the holder
// of a capability link), and its handler. Authorisation, metrics, rate
// limits and the OpenAPI document are all derived from that table, so an
// endpoint cannot be served without being authorised and documented.
//
// Every rejection is a 4xx JSON error {"error":{"code":...,"message":...}}
// whose code is a muster.Error code; a 500 means muster is at fault, never
// the input.
package httpapi
