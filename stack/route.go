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

// RouteSource6 is RouteSource for IPv6: the first global IPv6 address of
// the interface the route to dst leaves by (its link-local address for a
// link-local dst), or dst itself when it is one of ours.
func RouteSource6(f *fib.Table6, ifs *iface.Table) func(dst [16]byte) ([16]byte, bool) {
	return func(dst [16]byte) ([16]byte, bool) {
		view := f.Load()
		adj := view.Adj(view.Lookup(dst, 0))
		switch adj.Kind {
		case fib.AdjLocal:
			return dst, true
		case fib.AdjRewrite, fib.AdjGlean, fib.AdjIncomplete:
			in := ifs.Load().Get(adj.Port)
			if in == nil {
				return [16]byte{}, false
			}
			src := in.Addr6
			if dst[0] == 0xfe && dst[1]&0xc0 == 0x80 {
				src = in.LinkLocal
			}
			if src == ([16]byte{}) {
				return [16]byte{}, false
			}
			return src, true
		}
		return [16]byte{}, false
	}
}
