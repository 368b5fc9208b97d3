package ip4

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/wire"
)

// datagram is a UDP datagram from host0 to our address with ID id and
// payload bytes after the UDP header, as ip4-local sees it.
func datagram(id uint16, payload int) graphtest.Packet {
	return ipFrame(host0, addr0, frames.Spec{ID: id, Payload: payload})
}

// piece returns the fragment of whole (an unfragmented datagram) holding
// its payload bytes [off, off+size), with MF set when mf.
func piece(whole graphtest.Packet, off, size int, mf bool) graphtest.Packet {
	ip := wire.IPv4(whole.Data[14:])
	d := append(append([]byte(nil), whole.Data[:14+20]...), ip[20+off:20+off+size]...)
	f := wire.IPv4(d[14:])
	f.SetTotalLen(uint16(20 + size))
	w := uint16(off / 8)
	if mf {
		w |= 0x2000
	}
	binary.BigEndian.PutUint16(f[6:], w)
	f.SetChecksum(0)
	f.SetChecksum(f.ComputeChecksum())
	return graphtest.Packet{Data: d, Meta: whole.Meta}
}

// split cuts whole into fragments of size bytes of payload (the last
// shorter).
func split(whole graphtest.Packet, size int) []graphtest.Packet {
	total := len(whole.Data) - 14 - 20
	var out []graphtest.Packet
	for off := 0; off < total; off += size {
		n := min(size, total-off)
		out = append(out, piece(whole, off, n, off+n < total))
	}
	return out
}

func reverse(p []graphtest.Packet) []graphtest.Packet {
	out := make([]graphtest.Packet, len(p))
	for k := range p {
		out[len(p)-1-k] = p[k]
	}
	return out
}

func label(err string) string { return graphtest.Label(ReassemblyName, err) }

func TestIP4Reassembly(t *testing.T) {
	whole := datagram(7, 3000)
	fr := split(whole, 1480)
	other := datagram(8, 1000)
	fo := split(other, 512)
	tests := []struct {
		name     string
		cfg      ReassemblyConfig
		runs     [][]graphtest.Packet
		want     []graphtest.Packet // datagrams that reach ip4-local, in order
		counters map[string]uint64  // over all runs
	}{
		{name: "in order", runs: [][]graphtest.Packet{fr}, want: []graphtest.Packet{whole},
			counters: map[string]uint64{label("fragments"): 3, label("reassembled"): 1}},
		{name: "reverse order, one per vector", runs: [][]graphtest.Packet{{fr[2]}, {fr[1]}, {fr[0]}}, want: []graphtest.Packet{whole},
			counters: map[string]uint64{label("fragments"): 3, label("reassembled"): 1}},
		{name: "two datagrams interleaved", runs: [][]graphtest.Packet{{fo[1], fr[0], fo[0], fr[2], fr[1]}}, want: []graphtest.Packet{other, whole},
			counters: map[string]uint64{label("fragments"): 5, label("reassembled"): 2}},
		{name: "duplicate drops the datagram", runs: [][]graphtest.Packet{{fr[0], fr[0]}, {fr[1], fr[2]}},
			counters: map[string]uint64{label("fragments"): 3, label("overlap"): 1, label("fragment_of_dropped"): 1}},
		{name: "partial overlap drops the datagram", runs: [][]graphtest.Packet{{fr[0], piece(whole, 1472, 16, true), fr[1], fr[2]}},
			counters: map[string]uint64{label("fragments"): 3, label("overlap"): 1, label("fragment_of_dropped"): 1}},
		{name: "bytes past the last fragment", runs: [][]graphtest.Packet{{piece(whole, 1480, 800, true), piece(whole, 0, 1480, false)}},
			counters: map[string]uint64{label("fragments"): 1, label("overlap"): 1, label("fragment_of_dropped"): 1}},
		{name: "two different ends", runs: [][]graphtest.Packet{{fr[2], piece(whole, 1480, 800, false)}},
			counters: map[string]uint64{label("fragments"): 1, label("overlap"): 1, label("fragment_of_dropped"): 1}},
		{name: "not a multiple of 8 before the last", runs: [][]graphtest.Packet{{piece(whole, 0, 1479, true)}},
			counters: map[string]uint64{label("bad_fragment"): 1}},
		{name: "empty fragment", runs: [][]graphtest.Packet{{piece(whole, 8, 0, true)}},
			counters: map[string]uint64{label("bad_fragment"): 1}},
		{name: "over 65535 bytes", runs: [][]graphtest.Packet{{fr[0], edit(piece(whole, 0, 16, false), func(ip wire.IPv4) {
			binary.BigEndian.PutUint16(ip[6:], 8190) // offset 65520 + 16 + 20 > 65535
		})}}, counters: map[string]uint64{label("fragments"): 1, label("too_big"): 1, label("fragment_of_dropped"): 1}},
		{name: "over a buffer", runs: [][]graphtest.Packet{{edit(piece(whole, 0, 16, true), func(ip wire.IPv4) {
			binary.BigEndian.PutUint16(ip[6:], 0x2000|ReassemblyMaxPayload/8)
		})}}, counters: map[string]uint64{label("too_big"): 1, label("fragment_of_dropped"): 1}},
		{name: "table full evicts the oldest", cfg: ReassemblyConfig{MaxDatagrams: 1}, runs: [][]graphtest.Packet{{fr[0], fo[0]}, {fr[1], fr[2]}},
			counters: map[string]uint64{label("fragments"): 4, label("evicted"): 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, ReassemblyNode(tc.cfg), graphtest.Options{})
			got := map[string]uint64{}
			var out []graphtest.Capture
			for _, run := range tc.runs {
				r := h.Run(run...)
				for k, v := range r.Counters {
					got[k] += v
				}
				out = append(out, r.At(LocalName)...)
			}
			if len(got) != len(tc.counters) {
				t.Errorf("counters %v, want %v", got, tc.counters)
			}
			for k, v := range tc.counters {
				if got[k] != v {
					t.Errorf("counters %v, want %v", got, tc.counters)
					break
				}
			}
			if len(out) != len(tc.want) {
				t.Fatalf("%d datagrams out, want %d", len(out), len(tc.want))
			}
			for k, c := range out {
				if !bytes.Equal(c.Data, tc.want[k].Data) {
					t.Errorf("datagram %d differs from the original (%d bytes, want %d)", k, len(c.Data), len(tc.want[k].Data))
				}
				if c.Meta.L3 != 14 || c.Meta.L4 != 34 {
					t.Errorf("datagram %d: L3 %d L4 %d", k, c.Meta.L3, c.Meta.L4)
				}
			}
		})
	}
}

// TestIP4ReassemblyOptionsAndMeta checks that the first fragment's header
// (options included) and metadata make the datagram's, whichever fragment
// arrives first.
func TestIP4ReassemblyOptionsAndMeta(t *testing.T) {
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{}), graphtest.Options{})
	whole := datagram(9, 100)
	a, b := piece(whole, 0, 64, true), piece(whole, 64, 44, false)
	a = withOptions(a, []byte{0x83, 7, 4, 10, 0, 0, 1, 0})
	a.Meta.RxPort, b.Meta.RxPort = 1, 2
	r := h.Run(b, a)
	out := r.At(LocalName)
	if len(out) != 1 {
		t.Fatalf("%d datagrams", len(out))
	}
	ip := wire.IPv4(out[0].Data[14:])
	if ip.HeaderLen() != 28 || int(ip.TotalLen()) != 28+108 || ip.IsFragment() || !ip.ChecksumValid() || len(ip) != int(ip.TotalLen()) {
		t.Errorf("header: hl %d len %d frag %v checksum %v", ip.HeaderLen(), ip.TotalLen(), ip.IsFragment(), ip.ChecksumValid())
	}
	if !bytes.Equal(ip.Payload(), whole.Data[34:]) || out[0].Meta.RxPort != 1 || out[0].Meta.L4 != 14+28 {
		t.Errorf("payload or meta (RxPort %d L4 %d)", out[0].Meta.RxPort, out[0].Meta.L4)
	}
}

// TestIP4ReassemblyTimeout checks the timer: a datagram incomplete after
// Timeout is dropped (its buffer freed) on the next tick, and its late
// fragments start afresh rather than complete it.
func TestIP4ReassemblyTimeout(t *testing.T) {
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{Timeout: 5e9}), graphtest.Options{})
	whole := datagram(7, 3000)
	fr := split(whole, 1480)
	h.Run(fr[0], fr[1])
	h.Advance(4e9)
	h.Graph().Poll()
	if r := h.Run(); len(r.Counters) != 0 {
		t.Fatalf("dropped early: %v", r.Counters)
	}
	h.Advance(1e9)
	before := h.Node().ErrorCount(ReassErrTimeout)
	h.Graph().Poll()
	if got := h.Node().ErrorCount(ReassErrTimeout) - before; got != 1 {
		t.Fatalf("timeout counted %d, want 1", got)
	}
	r := h.Run(fr[2])
	if len(r.At(LocalName)) != 0 {
		t.Fatal("a timed-out datagram completed")
	}
	h.Advance(5e9)
	h.Graph().Poll() // the late fragment's datagram times out too; the pool audit at cleanup sees every buffer back
	if got := h.Node().ErrorCount(ReassErrTimeout) - before; got != 2 {
		t.Fatalf("timeouts %d, want 2", got)
	}
}

// TestIP4ReassemblyBounded checks that the buffers held never exceed
// MaxDatagrams, however many datagrams are started.
func TestIP4ReassemblyBounded(t *testing.T) {
	const max = 8
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{MaxDatagrams: max}), graphtest.Options{Slots: 64})
	var first []graphtest.Packet
	for id := range 200 {
		first = append(first, piece(datagram(uint16(id), 2000), 0, 1000, true))
	}
	for k := 0; k < len(first); k += 20 {
		r := h.Run(first[k : k+20]...)
		_ = r
	}
	if got := h.Node().ErrorCount(ReassErrEvicted); got != 200-max {
		t.Errorf("evicted %d, want %d", got, 200-max)
	}
}

func TestIP4ReassemblyTooManyFragments(t *testing.T) {
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{}), graphtest.Options{})
	whole := datagram(3, 65*8)
	var pkts []graphtest.Packet
	for k := range 65 {
		pkts = append(pkts, piece(whole, k*8, 8, true))
	}
	r := h.Run(pkts...)
	checkCounters(t, r, map[string]uint64{label("fragments"): 64, label("too_many_fragments"): 1, label("fragment_of_dropped"): 1})
	if got := r.Out[64].Where(); got != "drop "+label("fragment_of_dropped") {
		t.Errorf("65th fragment: %s", got)
	}
}

func TestIP4ReassemblyNoBuffer(t *testing.T) {
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{}), graphtest.Options{Slots: 1})
	r := h.Run(piece(datagram(1, 100), 0, 64, true))
	if got := r.Out[0].Where(); got != "drop "+label("no_buffer") {
		t.Fatalf("got %s", got)
	}
}

func TestIP4ReassemblyAllocs(t *testing.T) {
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{}), graphtest.Options{})
	var pkts []graphtest.Packet
	for id := range 16 {
		pkts = append(pkts, split(datagram(uint16(id), 3000), 1480)...)
	}
	pkts = append(pkts, piece(datagram(99, 100), 0, 8, true), piece(datagram(99, 100), 0, 8, true)) // an overlap
	if n := testing.AllocsPerRun(100, func() { h.Send(ReassemblyName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// FuzzReassembly feeds random fragment sequences of a few datagrams: no
// panic, every datagram that comes out is whole and well formed, and every
// buffer goes back (the pool audit when the test ends, after the timer
// expired what is left, and the graph's Close).
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0x80, 1, 0, 0, 0x10, 0x24, 0})                         // two halves of datagram 0
	f.Add([]byte{0, 0, 0, 0x80, 1, 0, 0, 0x08, 0x24, 0, 0, 0, 0x08, 0x80, 0x40}) // overlap
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 2, 0x1f, 0xf0, 0x01, 0x80})
	f.Fuzz(fuzzBody)
}

// fuzzBody is FuzzReassembly's body.
func fuzzBody(t *testing.T, b []byte) {
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{MaxDatagrams: 3, Timeout: 1e9}), graphtest.Options{Slots: 64})
	var base [4]graphtest.Packet
	for k := range base {
		base[k] = datagram(uint16(k), 4000-28)
	}
	// Records of 5 bytes: datagram and flags, offset (8-byte units,
	// 13 bits), length (11 bits) and MF.
	var run []graphtest.Packet
	for ; len(b) >= 5; b = b[5:] {
		whole := base[b[0]&3]
		off := int(binary.BigEndian.Uint16(b[1:]) & 0x1fff)
		size := int(binary.BigEndian.Uint16(b[3:]) >> 5)
		mf := b[4]&1 != 0
		src := whole.Data
		p := piece(graphtest.Packet{Data: append(append([]byte(nil), src...), make([]byte, max(0, off*8+size-(len(src)-34)))...), Meta: whole.Meta}, off*8, size, mf)
		run = append(run, p)
		if b[0]&0x80 != 0 || len(run) == 8 {
			checkOut(t, h.Run(run...))
			run = run[:0]
		}
		if b[0]&0x40 != 0 {
			h.Advance(4e8)
			h.Graph().Poll()
		}
	}
	checkOut(t, h.Run(run...))
	h.Advance(2e9)
	h.Graph().Poll()
}

func checkOut(t *testing.T, r *graphtest.Result) {
	t.Helper()
	for _, c := range r.At(LocalName) {
		ip, e := wire.ParseIPv4(c.Data[c.Meta.L3:])
		if e != wire.IPv4OK || ip.IsFragment() || !ip.ChecksumValid() || int(ip.TotalLen()) != len(ip) {
			t.Fatalf("bad datagram out: %v fragment %v", e, ip.IsFragment())
		}
	}
}

// TestIP4ReassemblyAcrossWorkers documents what happens when the fragments
// of one datagram reach two workers (two graphs, two tables): neither
// completes it, and each counts its part as a timeout. RSS keeps the
// fragments of a datagram on one queue (they hash by addresses), so this is
// the exception, and it is counted rather than silent.
func TestIP4ReassemblyAcrossWorkers(t *testing.T) {
	w0 := graphtest.New(t, ReassemblyNode(ReassemblyConfig{}), graphtest.Options{})
	w1 := graphtest.New(t, ReassemblyNode(ReassemblyConfig{}), graphtest.Options{})
	fr := split(datagram(7, 3000), 1480)
	if r := w0.Run(fr[0]); len(r.At(LocalName)) != 0 {
		t.Fatal("completed from one fragment")
	}
	if r := w1.Run(fr[1], fr[2]); len(r.At(LocalName)) != 0 {
		t.Fatal("completed without the first fragment")
	}
	for _, h := range []*graphtest.Harness{w0, w1} {
		h.Advance(DefaultReassemblyTimeout)
		h.Graph().Poll()
		if got := h.Node().ErrorCount(ReassErrTimeout); got != 1 {
			t.Errorf("timeouts %d, want 1", got)
		}
	}
}

// TestIP4ReassemblyTimeExceeded checks RFC 792's fragment reassembly time
// exceeded: a datagram that times out after its first fragment came goes
// to icmp4-error as that first fragment; one without it is only freed.
func TestIP4ReassemblyTimeExceeded(t *testing.T) {
	h := graphtest.New(t, ReassemblyNode(ReassemblyConfig{MaxDatagrams: 1, Timeout: 5e9}), graphtest.Options{})
	fr := split(datagram(7, 3000), 1480)
	fo := split(datagram(8, 1000), 512)
	h.Run(fr[1], fr[0])
	h.Advance(5e9)
	r := h.Run(fo[1]) // the table's one entry has timed out: reused
	errs := r.At(ICMPErrorName)
	if len(errs) != 1 {
		t.Fatalf("%d packets to icmp4-error, want 1 (counters %v)", len(errs), r.Counters)
	}
	if want := packICMP(wire.ICMPv4TimeExceeded, 1, 0); packed(&errs[0].Meta) != want {
		t.Errorf("ICMP/MTU %#x, want %#x", packed(&errs[0].Meta), want)
	}
	if !bytes.Equal(errs[0].Data, fr[0].Data) || errs[0].Meta.L3 != 14 || errs[0].Meta.L4 != 34 {
		t.Errorf("not the first fragment as it came (%d bytes, want %d)", len(errs[0].Data), len(fr[0].Data))
	}
	// fo has no first fragment in: its timeout sends nothing.
	h.Advance(5e9)
	r = h.Run(fr[2])
	if n := len(r.At(ICMPErrorName)); n != 0 {
		t.Errorf("%d time exceeded without a first fragment", n)
	}
	checkCounters(t, r, map[string]uint64{label("timeout"): 1, label("fragments"): 1})
}
