package driver_test

import (
	"testing"

	"github.com/vecnet/vecnet/driver"
)

// TestStatsAddSumsKernelCounters: summing ports' stats sums the kernel's
// counters too, and Drops counts each lost frame once (a fill-ring-empty
// drop is also in RxDropped).
func TestStatsAddSumsKernelCounters(t *testing.T) {
	var sum driver.Stats
	for _, k := range []driver.KernelStats{
		{RxDropped: 5, FillRingEmpty: 5, RxRingFull: 1, TxRingEmptyDesc: 9},
		{RxDropped: 2, FillRingEmpty: 1, RxInvalidDescs: 3, TxInvalidDescs: 4},
	} {
		sum.Add(driver.Stats{RxPackets: 1, Kernel: k})
	}
	want := driver.KernelStats{RxDropped: 7, FillRingEmpty: 6, RxRingFull: 1, RxInvalidDescs: 3, TxInvalidDescs: 4, TxRingEmptyDesc: 9}
	if sum.Kernel != want || sum.RxPackets != 2 {
		t.Fatalf("sum %+v, want kernel %+v", sum, want)
	}
	if got := sum.Kernel.Drops(); got != 7+1+3+4 {
		t.Errorf("Drops = %d, want 15", got)
	}
}
