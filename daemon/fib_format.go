package daemon

import "github.com/vecnet/vecnet/l3/fib"

// formatRoute renders one FIB route for "show fib", naming interfaces by
// their configured names through ifName. The format belongs to fib.Route's
// String; this is the daemon's single point to change it.
func formatRoute(r fib.Route, ifName func(uint16) string) string { return r.String(ifName) }
