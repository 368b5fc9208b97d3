//go:build !amd64

package tsc

import "time"

var start = time.Now()

// Now returns monotonic nanoseconds on platforms without a TSC reader.
func Now() uint64 { return uint64(time.Since(start)) }
