package afxdp

import "vecnet/driver"

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
