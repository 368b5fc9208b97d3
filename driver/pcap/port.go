package pcap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/pkt"
)

// PortConfig names the files of a pcap port. Either may be empty.
type PortConfig struct {
	In  string // capture replayed by Recv, Ethernet link type; "" receives nothing
	Out string // file created (truncated) for what Send transmits; "" drops sends
	// Snaplen of Out (MaxSnaplen when zero).
	Snaplen int
}

// Port replays a capture file as received traffic and records transmitted
// traffic into another. It implements driver.Port. Like every port it
// belongs to one worker; the file I/O happens on that worker.
type Port struct {
	inFile  *os.File
	in      *Reader
	outFile *os.File
	outBuf  *bufio.Writer
	out     *Writer
	done    bool  // In is exhausted (or failed, or absent)
	err     error // the first read error other than the end of the file
	stats   driver.Stats
}

// Open opens cfg.In for reading and creates cfg.Out.
func Open(cfg PortConfig) (*Port, error) {
	p := &Port{done: cfg.In == ""}
	if cfg.In != "" {
		f, err := os.Open(cfg.In)
		if err != nil {
			return nil, fmt.Errorf("pcap: %w", err)
		}
		r, err := NewReader(bufio.NewReaderSize(f, 64<<10))
		if err == nil && r.LinkType() != LinkTypeEthernet {
			err = fmt.Errorf("%w: link type %d, want Ethernet (1)", ErrBadHeader, r.LinkType())
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", cfg.In, err)
		}
		p.inFile, p.in = f, r
	}
	if cfg.Out != "" {
		f, err := os.Create(cfg.Out)
		if err != nil {
			p.closeIn()
			return nil, fmt.Errorf("pcap: %w", err)
		}
		bw := bufio.NewWriterSize(f, 64<<10)
		w, err := NewWriter(bw, cfg.Snaplen)
		if err != nil {
			f.Close()
			p.closeIn()
			return nil, err
		}
		p.outFile, p.outBuf, p.out = f, bw, w
	}
	return p, nil
}

// Recv reads up to v.Free() records from In into buffers allocated from c,
// appending them to v. Records longer than pkt.DataCap are skipped and
// counted in RxErrors; a damaged file ends the input (Err reports why).
func (p *Port) Recv(c *pkt.Cache, v *pkt.Vector) int {
	if p.done {
		return 0
	}
	a := c.Arena()
	got, bytes := 0, 0
	for v.Len < pkt.VectorSize {
		i, ok := c.Alloc()
		if !ok {
			break
		}
		rec, err := p.in.Next(a.Slot(i)[pkt.Headroom:])
		if err != nil {
			c.Free(i)
			if err == ErrShortBuffer {
				p.stats.RxErrors++
				continue
			}
			if err != io.EOF {
				p.stats.RxErrors++
				p.err = err
			}
			p.done = true
			break
		}
		a.SetData(i, pkt.Headroom, rec.CapLen)
		v.Append(i)
		got++
		bytes += rec.CapLen
	}
	p.stats.RxPackets += uint64(got)
	p.stats.RxBytes += uint64(bytes)
	return got
}

// Send writes every packet of v to Out, stamped with the time of the call,
// frees them to c and empties v. Without Out, or after a write error, the
// packets are counted in TxDrops.
func (p *Port) Send(c *pkt.Cache, v *pkt.Vector) int {
	idx := v.Idx[:v.Len]
	sent := 0
	if p.out != nil {
		now := time.Now()
		a := c.Arena()
		for _, i := range idx {
			d := a.Data(i)
			if p.out.WritePacket(now, d) != nil {
				break
			}
			sent++
			p.stats.TxBytes += uint64(len(d))
		}
	}
	p.stats.TxPackets += uint64(sent)
	p.stats.TxDrops += uint64(len(idx) - sent)
	c.FreeN(idx)
	v.Reset()
	return sent
}

// Stats returns the port's counters. Call it on the owning worker.
func (p *Port) Stats() driver.Stats { return p.stats }

// Done reports whether In has been read to its end (or failed). It is true
// at once for a port without In. Call it on the owning worker.
func (p *Port) Done() bool { return p.done }

// Err returns the error that ended the input early, or nil after a clean end
// of file.
func (p *Port) Err() error { return p.err }

// Close flushes and closes Out and closes In. The port holds no packet
// buffers between calls, so nothing returns to c. It returns the first
// write, flush or close error.
func (p *Port) Close(c *pkt.Cache) error {
	var errs []error
	if p.out != nil {
		errs = append(errs, p.out.Err(), p.outBuf.Flush(), p.outFile.Close())
		p.out = nil
	}
	errs = append(errs, p.closeIn())
	p.done = true
	return errors.Join(errs...)
}

func (p *Port) closeIn() error {
	if p.inFile == nil {
		return nil
	}
	err := p.inFile.Close()
	p.inFile, p.in = nil, nil
	return err
}
