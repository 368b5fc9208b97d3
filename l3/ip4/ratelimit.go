package ip4

import "github.com/vecnet/vecnet/l3/icmperr"

// RateLimit is a token bucket's shape: Rate tokens a second, at most Burst
// saved up. Zero fields take the default of whoever uses it.
type RateLimit = icmperr.RateLimit
