package stack

import (
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/fib"
)

// RouteSource returns a Config.Source that picks, for a destination, the
// first IPv4 address of the interface the FIB's route to it leaves by (for
// a destination that is one of our own addresses, that address). It reads
// one FIB and one interface snapshot per call and is safe for concurrent use.
func RouteSource(f *fib.Table, ifs *iface.Table) func(dst [4]byte) ([4]byte, bool) {
	return func(dst [4]byte) ([4]byte, bool) {
		view := f.Load()
		adj := view.Adj(view.Lookup(dst, 0))
		switch adj.Kind {
		case fib.AdjLocal:
			return dst, true
		case fib.AdjRewrite, fib.AdjGlean, fib.AdjIncomplete:
			in := ifs.Load().Get(adj.Port)
			if in == nil || in.Addr4 == ([4]byte{}) {
				return [4]byte{}, false
			}
			return in.Addr4, true
		}
		return [4]byte{}, false
	}
}
