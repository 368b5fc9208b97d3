package tcp

import (
	"testing"

	"github.com/vecnet/vecnet/wire"
)

var fuzzStates = []setup{inSynSent, inSynReceived, inEstablished, inFinWait1, inFinWait2, inCloseWait, inLastAck,
	inClosing, inTimeWait, inEstablishedBusy}

// inEstablishedBusy is ESTABLISHED with data in flight both ways and
// out-of-order data held.
func inEstablishedBusy(t *testing.T) (*link, *Conn) {
	l, c := inEstablished(t)
	c.Write(make([]byte, 5000))
	l.inject(c, segFields{seq: c.rcvNxt.Add(3000), ack: c.sndUna, flags: flagACK, wnd: 1000, payload: make([]byte, 500),
		opts: c.fuzzTS()})
	return l, c
}

// fuzzTS returns options with a timestamp that passes PAWS for c.
func (c *Conn) fuzzTS() *wire.TCPOptions {
	if !c.tsOK {
		return nil
	}
	return &wire.TCPOptions{HasTimestamps: true, TSVal: c.tsRecent + 1, TSEcr: c.e.tsNow() + c.tsOffset}
}

// FuzzSegment feeds one arbitrary segment (flags, sequence and
// acknowledgment numbers relative to the connection's, window, option
// bytes, payload) to a connection in each state, then lets its timers
// run; the engine must not panic and the connection's invariants must
// hold throughout.
func FuzzSegment(f *testing.F) {
	ts := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	sack := []byte{1, 1, 5, 10, 0, 0, 0x0b, 0xb8, 0, 0, 0x0f, 0xa0}
	for st := range fuzzStates {
		for _, fl := range []uint8{flagACK, flagACK | flagFIN, flagRST, flagSYN, flagSYN | flagACK, 0, flagACK | flagPSH} {
			f.Add(uint8(st), fl, int32(0), int32(0), uint16(1000), []byte(nil), []byte("data"))
		}
		f.Add(uint8(st), uint8(flagACK), int32(100), int32(-1), uint16(0), ts, []byte(nil))
		f.Add(uint8(st), uint8(flagACK), int32(0), int32(-5000), uint16(65535), sack, []byte(nil))
		f.Add(uint8(st), uint8(flagACK|flagFIN), int32(-3), int32(1<<30), uint16(7), []byte{2, 4, 0, 1}, make([]byte, 3000))
	}
	f.Fuzz(func(t *testing.T, st, flags uint8, dSeq, dAck int32, wnd uint16, opts, payload []byte) {
		if len(opts) > 40 || len(payload) > 9000 {
			return
		}
		frozenCfg = Config{}
		defer func() { frozenCfg = Config{NoTimestamps: true} }()
		l, c := fuzzStates[int(st)%len(fuzzStates)](t)
		// Build the segment by hand: the option bytes are raw.
		ol := (len(opts) + 3) &^ 3
		b := make([]byte, wire.TCPMinLen+ol+len(payload))
		tc := wire.TCP(b)
		tc.Encode(&wire.TCPFields{SrcPort: c.remote.Port(), DstPort: c.local.Port(), Seq: uint32(c.rcvNxt.Add(int(dSeq))),
			Ack: uint32(c.sndMax.Add(int(dAck))), DataOffset: uint8((wire.TCPMinLen + ol) / 4), Flags: flags, Window: wnd})
		copy(b[wire.TCPMinLen:], opts)
		copy(b[wire.TCPMinLen+ol:], payload)
		c.e.Input([]Segment{{Src: c.remote, Dst: c.local, TCP: tc}})
		checkInvariants(t, c)
		for range 5 {
			l.advance(300 * ms)
			checkInvariants(t, c)
		}
		c.Read(make([]byte, 100))
		c.Write([]byte("more"))
		checkInvariants(t, c)
		used := 0
		for _, x := range c.e.all {
			used += x.reserved
		}
		if used != c.e.budget.Used() {
			t.Fatalf("budget %d, connections hold %d", c.e.budget.Used(), used)
		}
	})
}

// FuzzRawSegment feeds arbitrary bytes as the TCP segment (ports forced to
// the connection's) to an established connection and to a listener.
func FuzzRawSegment(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xf0, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x12, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 99, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, c := inEstablished(t)
		l.hosts[0].e.Listen(l.ap(0, 80), 2)
		b := append([]byte(nil), raw...)
		if len(b) >= 4 {
			wire.TCP(b).SetSrcPort(c.remote.Port())
			wire.TCP(b).SetDstPort(c.local.Port())
		}
		c.e.Input([]Segment{{Src: c.remote, Dst: c.local, TCP: wire.TCP(b)}})
		checkInvariants(t, c)
		if len(b) >= 4 {
			wire.TCP(b).SetDstPort(80)
		}
		c.e.Input([]Segment{{Src: c.remote, Dst: l.ap(0, 80), TCP: wire.TCP(b)}})
		l.advance(2e9)
		checkInvariants(t, c)
	})
}
