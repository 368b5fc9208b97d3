package ip4

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// withOptions inserts opts (a multiple of 4 bytes) after the fixed IPv4
// header of p's frame and fixes IHL, total length and checksum.
func withOptions(p graphtest.Packet, opts []byte) graphtest.Packet {
	l3 := int(p.Meta.L3)
	d := append(append(append([]byte(nil), p.Data[:l3+wire.IPv4MinLen]...), opts...), p.Data[l3+wire.IPv4MinLen:]...)
	ip := wire.IPv4(d[l3:])
	ip[0] = 0x40 | byte((wire.IPv4MinLen+len(opts))/4)
	ip.SetTotalLen(ip.TotalLen() + uint16(len(opts)))
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	p.Data = d
	p.Meta.L4 = uint16(l3 + wire.IPv4MinLen + len(opts))
	return p
}

// fragments returns the frames ip4-frag sent for one packet: the first
// (the packet's own buffer) and the ones it made, sorted by offset.
func fragments(t *testing.T, r *graphtest.Result) [][]byte {
	t.Helper()
	if r.Out[0].Next != driver.OutputNodeName {
		t.Fatalf("packet: %s", r.Out[0].Where())
	}
	out := [][]byte{r.Out[0].Data}
	for _, c := range r.At(driver.OutputNodeName) {
		out = append(out, c.Data)
	}
	for a := range out { // a few: insertion sort by offset
		for b := a; b > 0 && wire.IPv4(out[b][14:]).FragOffset() < wire.IPv4(out[b-1][14:]).FragOffset(); b-- {
			out[b], out[b-1] = out[b-1], out[b]
		}
	}
	return out
}

func TestIP4Frag(t *testing.T) {
	// Options: NOP, record route (7, not copied, 7 bytes), LSRR-like type
	// 0x83 (copied, 7 bytes), NOP, and padding: 16 bytes.
	opts := []byte{1, 7, 7, 4, 0, 0, 0, 0, 0x83, 7, 4, 10, 0, 0, 1, 0}
	copied := []byte{0x83, 7, 4, 10, 0, 0, 1, 0}
	tests := []struct {
		name    string
		p       graphtest.Packet
		mtu     uint16
		sizes   []int // IP total length of each fragment
		lastMF  bool
		offset0 uint16 // offset of the first fragment (8-byte units)
		opts    []byte // options of the first fragment
		optsN   []byte // options of the others
	}{
		{name: "3000 over 1400", p: ipFrame(host0, remote, frames.Spec{Payload: 3000 - 28}), mtu: 1400,
			sizes: []int{1396, 1396, 20 + 3000 - 20 - 2*1376}},
		{name: "exact multiple", p: ipFrame(host0, remote, frames.Spec{Payload: 2*1376 - 8}), mtu: 1400,
			sizes: []int{1396, 1396}},
		{name: "1472 over 576", p: ipFrame(host0, remote, frames.Spec{Payload: 1472}), mtu: 576,
			sizes: []int{572, 572, 1500 - 2*552}},
		{name: "smallest mtu", p: ipFrame(host0, remote, frames.Spec{Payload: 100}), mtu: 68,
			sizes: []int{68, 68, 20 + 108 - 96}},
		{name: "options: copy flag only after the first", p: withOptions(ipFrame(host0, remote, frames.Spec{Payload: 2000}), opts), mtu: 1000,
			sizes: []int{36 + 960, 28 + 968, 28 + 2008 - 960 - 968}, opts: opts, optsN: copied},
		{name: "a fragment fragmented again", p: edit(ipFrame(host0, remote, frames.Spec{Payload: 1500}), func(ip wire.IPv4) {
			binary.BigEndian.PutUint16(ip[6:], 0x2000|100) // MF, offset 800
		}), mtu: 1000, sizes: []int{996, 20 + 1508 - 976}, lastMF: true, offset0: 100},
		{name: "DF cleared", p: ipFrame(host0, remote, frames.Spec{Payload: 1500, DF: true}), mtu: 1400,
			sizes: []int{1396, 20 + 1508 - 1376}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, FragNode(), graphtest.Options{})
			tc.p.Meta.MTU = uint16(tc.mtu)
			tc.p.Meta.TxPort = 1
			orig := wire.IPv4(append([]byte(nil), tc.p.Data[14:]...))
			r := h.Run(tc.p)
			checkCounters(t, r, map[string]uint64{
				graphtest.Label(FragName, "fragmented"): 1,
				graphtest.Label(FragName, "fragments"):  uint64(len(tc.sizes)),
			})
			fr := fragments(t, r)
			if len(fr) != len(tc.sizes) {
				t.Fatalf("%d fragments, want %d", len(fr), len(tc.sizes))
			}
			var payload []byte
			next := int(tc.offset0) * 8
			for k, f := range fr {
				if string(f[:14]) != string(tc.p.Data[:14]) {
					t.Errorf("fragment %d: ethernet header % x", k, f[:14])
				}
				ip, e := wire.ParseIPv4(f[14:])
				if e != wire.IPv4OK || !ip.ChecksumValid() || len(ip) != int(ip.TotalLen()) {
					t.Fatalf("fragment %d: parse %v checksum ok %v len %d/%d", k, e, ip.ChecksumValid(), len(ip), ip.TotalLen())
				}
				if int(ip.TotalLen()) != tc.sizes[k] || int(ip.TotalLen()) > int(tc.mtu) {
					t.Errorf("fragment %d: %d bytes, want %d (mtu %d)", k, ip.TotalLen(), tc.sizes[k], tc.mtu)
				}
				if int(ip.FragOffset())*8 != next {
					t.Errorf("fragment %d: offset %d, want %d", k, int(ip.FragOffset())*8, next)
				}
				wantMF := k < len(fr)-1 || tc.lastMF
				if ip.MoreFragments() != wantMF || ip.DontFragment() {
					t.Errorf("fragment %d: MF %v DF %v, want MF %v", k, ip.MoreFragments(), ip.DontFragment(), wantMF)
				}
				if k < len(fr)-1 && len(ip.Payload())%8 != 0 {
					t.Errorf("fragment %d: payload %d not a multiple of 8", k, len(ip.Payload()))
				}
				if ip.ID() != orig.ID() || ip.Src() != orig.Src() || ip.Dst() != orig.Dst() || ip.Protocol() != orig.Protocol() || ip.TTL() != orig.TTL() {
					t.Errorf("fragment %d: header fields changed", k)
				}
				want := tc.optsN
				if k == 0 {
					want = tc.opts
				}
				if !bytes.Equal(ip.Options(), want) {
					t.Errorf("fragment %d: options % x, want % x", k, ip.Options(), want)
				}
				payload = append(payload, ip.Payload()...)
				next += len(ip.Payload())
			}
			if !bytes.Equal(payload, orig.Payload()) {
				t.Errorf("payload does not reassemble to the original")
			}
			for _, c := range r.At(driver.OutputNodeName) {
				if c.Meta.TxPort != 1 || c.Meta.L3 != 14 || int(c.Meta.L4) != 14+wire.IPv4(c.Data[14:]).HeaderLen() {
					t.Errorf("fragment meta TxPort %d L3 %d L4 %d", c.Meta.TxPort, c.Meta.L3, c.Meta.L4)
				}
			}
		})
	}
}

func TestIP4FragDrops(t *testing.T) {
	t.Run("no buffer", func(t *testing.T) {
		h := graphtest.New(t, FragNode(), graphtest.Options{Slots: 2})
		p := ipFrame(host0, remote, frames.Spec{Payload: 3000})
		p.Meta.MTU = 1400
		r := h.Run(p) // needs 2 more buffers, the pool has 1
		if got := r.Out[0].Where(); got != "drop "+graphtest.Label(FragName, "no_buffer") {
			t.Fatalf("got %s", got)
		}
		checkCounters(t, r, one(FragName, "no_buffer"))
	})
	t.Run("too many fragments", func(t *testing.T) {
		// 40 bytes of copied options at MTU 68 leave 8 bytes per fragment:
		// 2100 bytes would need 263.
		opts := make([]byte, 40)
		for k := 0; k < 40; k += 4 {
			copy(opts[k:], []byte{0x88, 4, 0, 0}) // stream ID-like, copied
		}
		h := graphtest.New(t, FragNode(), graphtest.Options{})
		p := withOptions(ipFrame(host0, remote, frames.Spec{Payload: 2100}), opts)
		p.Meta.MTU = 68
		r := h.Run(p)
		if got := r.Out[0].Where(); got != "drop "+graphtest.Label(FragName, "too_many_fragments") {
			t.Fatalf("got %s", got)
		}
		checkCounters(t, r, one(FragName, "too_many_fragments"))
	})
	t.Run("bad mtu", func(t *testing.T) {
		h := graphtest.New(t, FragNode(), graphtest.Options{})
		p := ipFrame(host0, remote, frames.Spec{Payload: 100})
		p.Meta.MTU = 27
		r := h.Run(p)
		if got := r.Out[0].Where(); got != "drop "+graphtest.Label(FragName, "bad_mtu") {
			t.Fatalf("got %s", got)
		}
	})
}

func TestIP4FragAllocs(t *testing.T) {
	h := graphtest.New(t, FragNode(), graphtest.Options{})
	pkts := make([]graphtest.Packet, 32)
	for k := range pkts {
		pkts[k] = ipFrame(host0, remote, frames.Spec{Payload: 3000})
		pkts[k].Meta.MTU = 1400
	}
	if n := testing.AllocsPerRun(50, func() { h.Send(FragName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestIP4FragOutputArc: with the ip4-output arc declared, every fragment
// (the first, in place, and the new ones) enters the arc for its egress
// interface, so an output feature (ACL) sees them all.
func TestIP4FragOutputArc(t *testing.T) {
	arc := graph.Arc{Name: OutputArc, Start: RewriteName, AlsoStart: []string{FragName}, End: driver.OutputNodeName, ByTxPort: true,
		Features: []graph.Feature{{Node: "out-feature"}}}
	h := graphtest.New(t, FragNode(), graphtest.Options{Arcs: []graph.Arc{arc}})
	if err := h.Graph().EnableFeature(OutputArc, "out-feature", 1, true); err != nil {
		t.Fatal(err)
	}
	p := ipFrame(host0, remote, frames.Spec{Payload: 3000})
	p.Meta.MTU, p.Meta.TxPort = 1400, 1
	r := h.Run(p)
	if r.Out[0].Where() != "out-feature" || len(r.At("out-feature")) != 2 || len(r.At(driver.OutputNodeName)) != 0 {
		t.Fatalf("first fragment %s; further fragments: %d at out-feature, %d at interface-output; want all 3 at out-feature",
			r.Out[0].Where(), len(r.At("out-feature")), len(r.At(driver.OutputNodeName)))
	}
	q := ipFrame(host0, remote, frames.Spec{Payload: 3000})
	q.Meta.MTU, q.Meta.TxPort = 1400, 0 // no feature on port 0
	if r := h.Run(q); r.Out[0].Where() != driver.OutputNodeName || len(r.At(driver.OutputNodeName)) != 2 {
		t.Fatalf("by port 0: first %s, %d more at interface-output", r.Out[0].Where(), len(r.At(driver.OutputNodeName)))
	}
}

func TestCopiedOptions(t *testing.T) {
	var dst [40]byte
	for _, tc := range []struct {
		in, want []byte
	}{
		{nil, nil},
		{[]byte{0, 0x83, 3, 1}, nil}, // end of list first
		{[]byte{1, 1, 0x83, 3, 9, 0}, []byte{0x83, 3, 9, 0}}, // padded
		{[]byte{0x83, 1, 0, 0}, nil},                         // length < 2: stop
		{[]byte{0x83, 9, 0, 0}, nil},                         // length past the end: stop
		{[]byte{0x83}, nil},                                  // no length byte
		{[]byte{7, 3, 0, 0x89, 4, 1, 2}, []byte{0x89, 4, 1, 2}},
	} {
		n := copiedOptions(dst[:], tc.in)
		if !bytes.Equal(dst[:n], tc.want) && !(n == 0 && tc.want == nil) {
			t.Errorf("copiedOptions(% x) = % x, want % x", tc.in, dst[:n], tc.want)
		}
	}
	_ = pkt.Headroom
}
