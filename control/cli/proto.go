package cli

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Protocol limits (see the package comment for the framing).
const (
	MaxLine   = 4096     // longest command line, without the '\n'
	maxFrame  = 64 << 10 // largest frame payload
	maxOutput = 64 << 20 // most output a client accepts for one command
)

// Frame types.
const (
	frameOutput = 'O'
	frameOK     = 'K'
	frameError  = 'E'
)

// writeFrame writes one frame to w.
func writeFrame(w *bufio.Writer, typ byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame, appending an output payload to out.
func readFrame(r *bufio.Reader, out []byte) (typ byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("cli: protocol error: frame of %d bytes", n)
	}
	switch hdr[0] {
	case frameOutput, frameOK, frameError:
	default:
		return 0, nil, fmt.Errorf("cli: protocol error: frame type %#x", hdr[0])
	}
	start := len(out)
	out = append(out, make([]byte, n)...)
	if _, err := io.ReadFull(r, out[start:]); err != nil {
		return 0, nil, err
	}
	return hdr[0], out, nil
}

// outputWriter is the io.Writer a command writes to: it cuts what it gets
// into output frames. Not safe for concurrent use (one command at a time
// writes to it).
type outputWriter struct {
	w   *bufio.Writer
	err error // first write error; later writes fail with it
}

func (o *outputWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n := 0
	for len(p) > 0 {
		c := p[:min(len(p), maxFrame)]
		if o.err = writeFrame(o.w, frameOutput, c); o.err != nil {
			return n, o.err
		}
		n += len(c)
		p = p[len(c):]
	}
	return n, nil
}
