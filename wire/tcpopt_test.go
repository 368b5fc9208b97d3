package wire

import (
	"bytes"
	"testing"
)

func TestParseTCPOptions(t *testing.T) {
	syn, _ := ParseTCP(unhex(t, tcpSYN))
	cases := []struct {
		name string
		b    []byte
		ok   bool
		want TCPOptions
	}{
		{"linux SYN", syn.Options(), true, TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true,
			TSVal: 0x0001e240, HasWindowScale: true, WindowScale: 7}},
		{"empty", nil, true, TCPOptions{}},
		{"end stops", []byte{0, 2, 4, 5, 1}, true, TCPOptions{}},
		{"nops", []byte{1, 1, 1, 1}, true, TCPOptions{}},
		{"unknown skipped", []byte{30, 4, 9, 9, 4, 2}, true, TCPOptions{SACKPermitted: true}},
		{"sack 2", unhex(t, "0101 050a 00000010 00000020 0101 0512 00000001 00000002 00000003 00000004")[:14], true,
			TCPOptions{NSACK: 1, SACK: [4]SACKBlock{{0x10, 0x20}}}},
		{"wscale clamped", []byte{3, 3, 20}, true, TCPOptions{HasWindowScale: true, WindowScale: 14}},
		{"len past end", []byte{2, 4, 5}, false, TCPOptions{}},
		{"len 1", []byte{2, 1, 5, 5}, false, TCPOptions{}},
		{"len 0", []byte{30, 0}, false, TCPOptions{}},
		{"kind alone", []byte{2}, false, TCPOptions{}},
		{"mss bad len", []byte{2, 3, 5}, false, TCPOptions{}},
		{"ts bad len", []byte{8, 6, 0, 0, 0, 0}, false, TCPOptions{}},
		{"sack odd len", []byte{5, 6, 0, 0, 0, 0}, false, TCPOptions{}},
		{"sack empty", []byte{5, 2}, false, TCPOptions{}},
		{"sackperm bad len", []byte{4, 3, 0}, false, TCPOptions{}},
		{"wscale bad len", []byte{3, 4, 0, 0}, false, TCPOptions{}},
	}
	for _, c := range cases {
		var o TCPOptions
		ok := ParseTCPOptions(c.b, &o)
		if ok != c.ok || (ok && o != c.want) {
			t.Errorf("%s: ok %v %+v, want %v %+v", c.name, ok, o, c.ok, c.want)
		}
	}
}

func TestPutTCPOptionsRoundTrip(t *testing.T) {
	full := TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 7, TSEcr: 9,
		HasWindowScale: true, WindowScale: 7}
	// Linux's SYN layout byte for byte.
	b := make([]byte, 40)
	n := PutTCPOptions(b, &full)
	want := unhex(t, "020405b4 0402080a 00000007 00000009 01030307")
	if n != TCPOptionsLen(&full) || !bytes.Equal(b[:n], want) {
		t.Fatalf("got % x, want % x", b[:n], want)
	}
	cases := []TCPOptions{
		{},
		{HasTimestamps: true, TSVal: 1, TSEcr: 2, NSACK: 3, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}}},
		{NSACK: 4, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
		{SACKPermitted: true, HasMSS: true, MSS: 536},
		{HasWindowScale: true, WindowScale: 14},
	}
	for i, o := range cases {
		b := make([]byte, 40)
		n := PutTCPOptions(b, &o)
		if n != TCPOptionsLen(&o) || n%4 != 0 || n > 40 {
			t.Fatalf("case %d: wrote %d, len %d", i, n, TCPOptionsLen(&o))
		}
		var got TCPOptions
		if !ParseTCPOptions(b[:n], &got) || got != o {
			t.Errorf("case %d: round trip %+v != %+v", i, got, o)
		}
	}
}

func TestTCPOptionsAllocs(t *testing.T) {
	syn, _ := ParseTCP(unhex(t, tcpSYN))
	var o TCPOptions
	b := make([]byte, 40)
	if n := testing.AllocsPerRun(100, func() {
		ParseTCPOptions(syn.Options(), &o)
		PutTCPOptions(b, &o)
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

// FuzzTCPOptions checks that the parser survives any bytes and that what
// it accepts re-encodes to options that parse back to the same values.
func FuzzTCPOptions(f *testing.F) {
	syn, _ := ParseTCP(unhex(f, tcpSYN))
	f.Add([]byte(syn.Options()))
	f.Add([]byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{2, 4, 5})
	f.Add([]byte{3, 3, 200, 0})
	f.Add([]byte{8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 30, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o TCPOptions
		if !ParseTCPOptions(b, &o) {
			return
		}
		if o.NSACK < 0 || o.NSACK > TCPMaxSACKBlocks || o.WindowScale > TCPMaxWindowScale {
			t.Fatalf("out of range: %+v", o)
		}
		out := make([]byte, 40)
		n := PutTCPOptions(out, &o)
		if n != TCPOptionsLen(&o) || n > 40 || n%4 != 0 {
			t.Fatalf("put %d bytes, len %d", n, TCPOptionsLen(&o))
		}
		var back TCPOptions
		if !ParseTCPOptions(out[:n], &back) {
			t.Fatalf("re-encoded options do not parse: % x", out[:n])
		}
		if back.NSACK > o.NSACK {
			t.Fatalf("%d SACK blocks back from %d", back.NSACK, o.NSACK)
		}
		if back.HasMSS != o.HasMSS || back.MSS != o.MSS || back.HasTimestamps != o.HasTimestamps || back.TSVal != o.TSVal ||
			back.TSEcr != o.TSEcr || back.HasWindowScale != o.HasWindowScale || back.WindowScale != o.WindowScale ||
			back.SACKPermitted != o.SACKPermitted {
			t.Fatalf("round trip %+v != %+v", back, o)
		}
		for i := 0; i < back.NSACK; i++ {
			if back.SACK[i] != o.SACK[i] {
				t.Fatalf("SACK %d: %+v != %+v", i, back.SACK[i], o.SACK[i])
			}
		}
	})
}
