package tcp

// byteRing is a fixed-size circular byte buffer: a connection's send or
// receive buffer. The len bytes from head are the stored stream; bytes
// beyond them (up to the capacity) may be written ahead with writeAt (out
// of order data) and made part of the stream with commit.
type byteRing struct {
	buf  []byte
	head int // index of the first stored byte
	len  int // stored bytes
}

func newByteRing(size int) byteRing { return byteRing{buf: make([]byte, size)} }

// free returns the bytes that can still be appended.
func (r *byteRing) free() int { return len(r.buf) - r.len }

// write appends as much of p as fits and returns the bytes written.
func (r *byteRing) write(p []byte) int {
	n := r.writeAt(r.len, p)
	r.len += n
	return n
}

// writeAt copies as much of p as fits at offset off from head (off may be
// beyond len: the bytes are not yet part of the stream) and returns the
// bytes copied.
func (r *byteRing) writeAt(off int, p []byte) int {
	if off < 0 || off >= len(r.buf) {
		return 0
	}
	n := min(len(p), len(r.buf)-off)
	i := (r.head + off) % len(r.buf)
	c := copy(r.buf[i:], p[:n])
	copy(r.buf, p[c:n])
	return n
}

// commit makes n more bytes written ahead part of the stream.
func (r *byteRing) commit(n int) { r.len = min(r.len+n, len(r.buf)) }

// peek copies stored bytes from offset off into p without consuming them
// and returns the bytes copied.
func (r *byteRing) peek(off int, p []byte) int {
	if off < 0 || off >= r.len {
		return 0
	}
	n := min(len(p), r.len-off)
	i := (r.head + off) % len(r.buf)
	c := copy(p[:n], r.buf[i:])
	copy(p[c:n], r.buf)
	return n
}

// read consumes up to len(p) bytes into p.
func (r *byteRing) read(p []byte) int {
	n := r.peek(0, p)
	r.discard(n)
	return n
}

// discard consumes n stored bytes.
func (r *byteRing) discard(n int) {
	n = min(n, r.len)
	if n <= 0 {
		return
	}
	r.len -= n
	r.head = (r.head + n) % len(r.buf)
}
