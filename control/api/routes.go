package api

import (
	"net/http"
	"net/netip"

	"github.com/vecnet/vecnet/control/ctl"
)

// Route is one API endpoint: a method and a path pattern (net/http's
// ServeMux syntax, with {name} wildcards) and the function that answers it.
// Adding an endpoint is adding a line to Routes (and its description to
// openapi.json; a test checks that every route is described).
type Route struct {
	Method string
	Path   string
	Handle Handler
}

// Handler answers one request with a status and a value to send as JSON
// (nil for no body), or an error (sent as {"error": "..."} with the status
// of its ctl.Kind).
type Handler func(b ctl.Backend, r *http.Request) (status int, body any, err error)

// Routes is the API: every show command and every change the CLI can make.
var Routes = []Route{
	{"GET", "/api/v1/interfaces", show(ctl.Backend.Interfaces)},
	{"GET", "/api/v1/runtime", show(ctl.Backend.Runtime)},
	{"DELETE", "/api/v1/runtime", do(ctl.Backend.RuntimeClear)},
	{"GET", "/api/v1/errors", show(ctl.Backend.Errors)},
	{"DELETE", "/api/v1/errors", do(ctl.Backend.ErrorsClear)},
	{"GET", "/api/v1/fib", show(ctl.Backend.FIB)},
	{"GET", "/api/v1/neighbors", show(ctl.Backend.Neighbors)},
	{"GET", "/api/v1/offload", show(ctl.Backend.Offload)},
	{"GET", "/api/v1/trace", show(ctl.Backend.Trace)},
	{"GET", "/api/v1/acls", show(ctl.Backend.ACLs)},
	{"GET", "/api/v1/sessions", show(ctl.Backend.Sessions)},
	{"GET", "/api/v1/nat/sessions", show(ctl.Backend.NATSessions)},
	{"GET", "/api/v1/policers", show(ctl.Backend.Policers)},
	{"GET", "/api/v1/bridges", show(ctl.Backend.Bridges)},
	{"GET", "/api/v1/bridges/macs", show(ctl.Backend.BridgeMACs)},
	{"DELETE", "/api/v1/bridges/macs", do(ctl.Backend.BridgeMACsClear)},
	{"GET", "/api/v1/linux-cp", show(ctl.Backend.LinuxCP)},
	{"POST", "/api/v1/trace", traceAdd},
	{"DELETE", "/api/v1/trace", do(ctl.Backend.TraceClear)},
	{"POST", "/api/v1/routes", routeAdd},
	{"DELETE", "/api/v1/routes/{prefix...}", routeDel},
	{"POST", "/api/v1/routes/batch", routeBatch},
	{"POST", "/api/v1/neighbors", neighborAdd},
	{"DELETE", "/api/v1/neighbors/{interface}/{ip}", neighborDel},
	{"POST", "/api/v1/interfaces/{name}/addresses", addressAdd},
	{"DELETE", "/api/v1/interfaces/{name}/addresses/{address...}", addressDel},
	{"POST", "/api/v1/interfaces/{name}/up", link(true)},
	{"POST", "/api/v1/interfaces/{name}/down", link(false)},
	{"GET", "/api/v1/capture", show(ctl.Backend.CaptureStatus)},
	{"POST", "/api/v1/capture", captureStart},
	{"DELETE", "/api/v1/capture", show(ctl.Backend.CaptureStop)},
	{"POST", "/api/v1/reload", show(ctl.Backend.Reload)},
}

func captureStart(b ctl.Backend, r *http.Request) (int, any, error) {
	var req ctl.Capture
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.File == "" {
		return 0, nil, ctl.Errorf(ctl.BadInput, "a capture needs \"file\"")
	}
	return http.StatusNoContent, nil, b.CaptureStart(req)
}

// show answers with a show command's rows.
func show[T any](get func(ctl.Backend) (T, error)) Handler {
	return func(b ctl.Backend, _ *http.Request) (int, any, error) {
		v, err := get(b)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, v, nil
	}
}

// do answers 204 No Content when op succeeds.
func do(op func(ctl.Backend) error) Handler {
	return func(b ctl.Backend, _ *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, op(b)
	}
}

// TraceRequest is POST /api/v1/trace's body.
type TraceRequest struct {
	Count int `json:"count"` // packets to trace on every worker, 1..10000
}

func traceAdd(b ctl.Backend, r *http.Request) (int, any, error) {
	var req TraceRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Count <= 0 || req.Count > ctl.MaxTrace {
		return 0, nil, ctl.Errorf(ctl.BadInput, "count must be 1..%d, got %d", ctl.MaxTrace, req.Count)
	}
	return http.StatusNoContent, nil, b.TraceAdd(req.Count)
}

func routeAdd(b ctl.Backend, r *http.Request) (int, any, error) {
	var req ctl.Route
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if !req.Prefix.IsValid() || len(req.Via) == 0 {
		return 0, nil, ctl.Errorf(ctl.BadInput, "a route needs \"prefix\" and \"via\" (at least one next hop)")
	}
	req.Prefix = req.Prefix.Masked()
	if err := b.RouteAdd(req); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, req, nil
}

// routeBatch applies a JSON list of changes as one FIB batch (one View).
func routeBatch(b ctl.Backend, r *http.Request) (int, any, error) {
	var req []ctl.RouteChange
	if err := decodeLimit(r, &req, maxBatchBody); err != nil {
		return 0, nil, err
	}
	res, err := b.RouteBatch(req)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, res, nil
}

func routeDel(b ctl.Backend, r *http.Request) (int, any, error) {
	p, err := netip.ParsePrefix(r.PathValue("prefix"))
	if err != nil {
		return 0, nil, ctl.Errorf(ctl.BadInput, "%v", err)
	}
	return http.StatusNoContent, nil, b.RouteDel(p.Masked())
}

func neighborAdd(b ctl.Backend, r *http.Request) (int, any, error) {
	var req ctl.Neighbor
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Interface == "" || !req.IP.IsValid() || req.MAC == "" {
		return 0, nil, ctl.Errorf(ctl.BadInput, "a neighbor needs \"interface\", \"ip\" and \"mac\"")
	}
	if err := b.NeighborAdd(req); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, req, nil
}

func neighborDel(b ctl.Backend, r *http.Request) (int, any, error) {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		return 0, nil, ctl.Errorf(ctl.BadInput, "%v", err)
	}
	return http.StatusNoContent, nil, b.NeighborDel(r.PathValue("interface"), ip)
}

// AddressRequest is POST /api/v1/interfaces/{name}/addresses's body.
type AddressRequest struct {
	Address netip.Prefix `json:"address"` // 10.0.1.1/24
}

func addressAdd(b ctl.Backend, r *http.Request) (int, any, error) {
	var req AddressRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if !req.Address.IsValid() {
		return 0, nil, ctl.Errorf(ctl.BadInput, "\"address\" is missing")
	}
	if err := b.AddressAdd(r.PathValue("name"), req.Address); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, req, nil
}

func addressDel(b ctl.Backend, r *http.Request) (int, any, error) {
	p, err := netip.ParsePrefix(r.PathValue("address"))
	if err != nil {
		return 0, nil, ctl.Errorf(ctl.BadInput, "%v", err)
	}
	return http.StatusNoContent, nil, b.AddressDel(r.PathValue("name"), p)
}

func link(up bool) Handler {
	return func(b ctl.Backend, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, b.LinkSet(r.PathValue("name"), up)
	}
}
