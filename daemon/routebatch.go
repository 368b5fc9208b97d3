package daemon

import (
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/l3/fib"
)

// routeBatch turns a checked route batch (ctl.CheckRouteBatch) into FIB
// changes, resolving interface names, and counts them.
func (d *Daemon) routeBatch(changes []ctl.RouteChange) ([]fib.RouteChange, ctl.RouteBatchResult, error) {
	out := make([]fib.RouteChange, len(changes))
	var res ctl.RouteBatchResult
	for k, c := range changes {
		out[k].Prefix = c.Prefix.Masked()
		if c.Delete {
			res.Deleted++
			continue
		}
		port := -1
		if c.Interface != "" {
			ifc := d.iface(c.Interface)
			if ifc == nil {
				return nil, res, fibError(&noInterfaceError{c.Interface})
			}
			port = int(ifc.Index)
		}
		hops := make([]fib.NextHop, len(c.Via))
		for i, a := range c.Via {
			hops[i] = fib.NextHop{Addr: a, Port: port}
		}
		out[k].Hops = hops
		res.Added++
	}
	return out, res, nil
}
