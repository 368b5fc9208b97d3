package afxdp

import (
	"math/bits"

	"github.com/vecnet/vecnet/driver"
)

// kernelStats reads the kernel's XDP_STATISTICS for the port's socket: the
// frames the kernel dropped before the port could see them (fill ring
// empty, RX ring full) and the descriptors it refused. It is a system call,
// made when the control plane asks for Stats, never per packet. A closed
// port, or a failed read, reports zeros.
func (p *Port) kernelStats() driver.KernelStats {
	if p.closed {
		return driver.KernelStats{}
	}
	st, err := p.s.Stats()
	if err != nil {
		return driver.KernelStats{}
	}
	return driver.KernelStats{
		RxDropped:       st.RXDropped,
		RxInvalidDescs:  st.RXInvalidDescs,
		RxRingFull:      st.RXRingFull,
		FillRingEmpty:   st.RXFillRingEmptyDescs,
		TxInvalidDescs:  st.TXInvalidDescs,
		TxRingEmptyDesc: st.TXRingEmptyDescs,
	}
}

// Held reports how many buffers the kernel holds through this port: on
// its fill ring, received and not yet taken, or in flight on TX. Call it
// on the owning worker (a soak test subtracts it from the pool's in-use
// count, which the adaptive fill level would otherwise move).
func (p *Port) Held() int {
	n := 0
	for _, w := range p.kernel {
		n += bits.OnesCount64(w)
	}
	return n
}
