package afpacket

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/pkt"
)

// BenchmarkSend measures Send of 256-frame vectors of 64-byte frames to the
// veth peer, whose kernel drops them (the destination MAC is foreign).
// b.N counts frames.
func BenchmarkSend(b *testing.B) {
	r := newRig(b, Config{}, 0)
	p := r.ifc.ports[0]
	a := r.c.Arena()
	f := testFrame([6]byte{2, 0, 0, 0, 0, 9}, r.ifc.MAC(), 1, 64)
	var v pkt.Vector
	b.ResetTimer()
	for n := 0; n < b.N; n += pkt.VectorSize {
		for v.Len < pkt.VectorSize {
			i, _ := r.c.Alloc()
			d, _ := a.SetData(i, pkt.Headroom, len(f))
			copy(d, f)
			v.Append(i)
		}
		p.Send(r.c, &v)
	}
	b.StopTimer()
	st := p.Stats()
	b.ReportMetric(float64(st.TxDrops)/float64(st.TxDrops+st.TxPackets), "dropfrac")
}

// BenchmarkSendmmsg is the alternative TX design for comparison: the same
// vectors through one sendmmsg(2) per vector on a plain packet socket with
// PACKET_QDISC_BYPASS.
func BenchmarkSendmmsg(b *testing.B) {
	r := newRig(b, Config{}, 0)
	// Use the peer namespace's raw socket in reverse: it is a plain packet
	// socket bound to a veth end, like the port's.
	fd := r.peer
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		b.Fatal(err)
	}
	a := r.c.Arena()
	f := testFrame([6]byte{2, 0, 0, 0, 0, 9}, r.peerMAC, 1, 64)
	var v pkt.Vector
	var iov [pkt.VectorSize]unix.Iovec
	var hdr [pkt.VectorSize]unix.Mmsghdr
	b.ResetTimer()
	for n := 0; n < b.N; n += pkt.VectorSize {
		for v.Len < pkt.VectorSize {
			i, _ := r.c.Alloc()
			d, _ := a.SetData(i, pkt.Headroom, len(f))
			copy(d, f)
			v.Append(i)
		}
		for k, i := range v.Slice() {
			d := a.Data(i)
			iov[k].Base = &d[0]
			iov[k].SetLen(len(d))
			hdr[k].Hdr.Iov = &iov[k]
			hdr[k].Hdr.SetIovlen(1)
		}
		unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdr[0])), uintptr(v.Len), unix.MSG_DONTWAIT, 0, 0)
		r.c.FreeN(v.Slice())
		v.Reset()
	}
}
