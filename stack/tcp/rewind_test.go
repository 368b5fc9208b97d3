package tcp

import (
	"bytes"
	"testing"
)

// TestRingsRewindWhenEmpty: on a request-response connection every
// exchange empties both rings (the request read, the answer acknowledged),
// and each then starts again at offset 0, so the connection reuses the same
// pages of its 256 KiB buffers instead of walking (and faulting in) all of
// them. Data still flows intact.
func TestRingsRewindWhenEmpty(t *testing.T) {
	l := newLink(t, 1, Config{})
	c, s, _ := l.connect(t, 80)
	req, resp := bytes.Repeat([]byte("q"), 80), bytes.Repeat([]byte("a"), 150)
	buf := make([]byte, 4096)
	exchange := func(w, r *Conn, p []byte) {
		t.Helper()
		if n, err := w.Write(p); n != len(p) || err != nil {
			t.Fatalf("write: %d %v", n, err)
		}
		var got []byte
		if !l.run(10e9, func() bool { return len(got) == len(p) }, func() {
			n, _ := r.Read(buf)
			got = append(got, buf[:n]...)
		}) || !bytes.Equal(got, p) {
			t.Fatalf("read %d of %d bytes", len(got), len(p))
		}
	}
	for k := range 100 {
		exchange(c, s, req)
		exchange(s, c, resp)
		// Both sides' acknowledgements of the answer.
		l.run(10e9, func() bool { return s.snd.len == 0 && c.snd.len == 0 }, nil)
		for _, x := range []struct {
			name string
			r    *byteRing
		}{{"client send", &c.snd}, {"client receive", &c.rcv}, {"server send", &s.snd}, {"server receive", &s.rcv}} {
			if x.r.len != 0 || x.r.head != 0 {
				t.Fatalf("exchange %d: %s ring head %d len %d, want 0 0 (rewound once empty)", k, x.name, x.r.head, x.r.len)
			}
		}
	}
}
