package main

import (
	"sync/atomic"
	"time"

	"github.com/vecnet/vecnet/driver/memif/app"
	"github.com/vecnet/vecnet/wire"
)

// Echo answers UDP datagrams to IP in place. One goroutine runs it.
type Echo struct {
	MAC     wire.MAC
	IP      [4]byte
	Echoed  uint64 // datagrams sent back
	Dropped uint64 // frames that were not UDP/IPv4 to IP, or did not fit the ring
}

// Reflect turns frame b, if it is a UDP/IPv4 datagram to e.IP, into its
// echo (Ethernet, IP and UDP source and destination swapped; the checksums
// are sums over both, so they stay valid) and reports whether it did.
func (e *Echo) Reflect(b []byte) bool {
	if len(b) < wire.EthernetLen+20+8 {
		return false
	}
	eth := wire.Ethernet(b)
	if eth.Type() != wire.EtherTypeIPv4 {
		return false
	}
	ip, perr := wire.ParseIPv4(b[wire.EthernetLen:])
	if perr != wire.IPv4OK || ip.Protocol() != wire.IPProtoUDP || ip.Dst() != e.IP || ip.IsFragment() {
		return false
	}
	l4 := ip.Payload()
	if len(l4) < 8 {
		return false
	}
	src, dst := ip.Src(), ip.Dst()
	ip.SetSrc(dst)
	ip.SetDst(src)
	l4[0], l4[1], l4[2], l4[3] = l4[2], l4[3], l4[0], l4[1]
	eth.SetDst(eth.Src())
	eth.SetSrc(e.MAC)
	return true
}

// Run echoes until stop: a vector at a time, sleeping on the memif
// interrupt when idle.
func (e *Echo) Run(c *app.Conn, stop *atomic.Bool) {
	const vec = 256
	bufs, lens, out := make([][]byte, vec), make([]int, vec), make([][]byte, 0, vec)
	for k := range bufs {
		bufs[k] = make([]byte, 2048)
	}
	idle := 0
	for !stop.Load() {
		n := c.Recv(bufs, lens)
		if n == 0 {
			if idle++; idle > 1024 {
				c.Wait(10 * time.Millisecond)
			}
			continue
		}
		idle = 0
		out = out[:0]
		for k := range n {
			if f := bufs[k][:lens[k]]; e.Reflect(f) {
				out = append(out, f)
			} else {
				e.Dropped++
			}
		}
		sent := 0
		for sent < len(out) && !stop.Load() && c.Connected() {
			sent += c.Send(out[sent:])
		}
		e.Echoed += uint64(sent)
		e.Dropped += uint64(len(out) - sent)
	}
}
