package pcap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/pkt"
)

var _ driver.Port = (*Port)(nil)

// writeFile writes frames as a pcap file at path.
func writeFile(t *testing.T, path string, frames [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	w, err := NewWriter(bw, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range frames {
		if err := w.WritePacket(time.Unix(1700000000, 0), d); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readFile returns the records of the pcap file at path.
func readFile(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, b)
}

func readAll(t *testing.T, file []byte) [][]byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	buf := make([]byte, MaxSnaplen)
	for {
		rec, err := r.Next(buf)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(buf[:rec.CapLen]))
	}
}

func TestPortReplayAndRecord(t *testing.T) {
	in, out := tempPath(t, "in.pcap"), tempPath(t, "out.pcap")
	var frames [][]byte
	for k := range 600 {
		frames = append(frames, bytes.Repeat([]byte{byte(k)}, 60+k))
	}
	tooLong := make([]byte, pkt.DataCap+1)
	all := append(append(append([][]byte{}, frames[:300]...), tooLong), frames[300:]...)
	writeFile(t, in, all)

	pool := newPool(t, 1024)
	c := pool.NewCache()
	p, err := Open(PortConfig{In: in, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	var v pkt.Vector
	for calls := 0; !p.Done(); calls++ {
		if calls > 10 {
			t.Fatal("input never done")
		}
		n := p.Recv(c, &v)
		if n != v.Len {
			t.Fatalf("Recv = %d, vector holds %d", n, v.Len)
		}
		for _, i := range v.Slice() {
			if m := c.Arena().Meta(i); m.Off != pkt.Headroom {
				t.Fatalf("frame at offset %d, want %d", m.Off, pkt.Headroom)
			}
			got = append(got, bytes.Clone(c.Arena().Data(i)))
		}
		p.Send(c, &v) // echo back: recorded into out
	}
	if p.Err() != nil {
		t.Fatal(p.Err())
	}
	if len(got) != len(frames) {
		t.Fatalf("received %d frames, want %d", len(got), len(frames))
	}
	for k := range frames {
		if !bytes.Equal(got[k], frames[k]) {
			t.Fatalf("frame %d differs", k)
		}
	}
	st := p.Stats()
	if st.RxPackets != 600 || st.RxErrors != 1 || st.TxPackets != 600 || st.TxDrops != 0 || st.RxBytes != st.TxBytes {
		t.Fatalf("stats %+v", st)
	}
	if n := p.Recv(c, &v); n != 0 {
		t.Fatalf("Recv after the end = %d", n)
	}
	if err := p.Close(c); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	rec := readFile(t, out)
	if len(rec) != len(frames) || !bytes.Equal(rec[599], frames[599]) {
		t.Fatalf("out holds %d records, want %d", len(rec), len(frames))
	}
}

func TestPortWithoutFiles(t *testing.T) {
	pool := newPool(t, 64)
	c := pool.NewCache()
	p, err := Open(PortConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done() {
		t.Fatal("a port without In is not done")
	}
	var v pkt.Vector
	if p.Recv(c, &v) != 0 {
		t.Fatal("Recv without In returned packets")
	}
	for range 3 {
		i, _ := c.Alloc()
		v.Append(i)
	}
	if n := p.Send(c, &v); n != 0 || p.Stats().TxDrops != 3 || v.Len != 0 {
		t.Fatalf("Send without Out = %d, stats %+v", n, p.Stats())
	}
	if err := p.Close(c); err != nil {
		t.Fatal(err)
	}
}

func TestPortOpenErrors(t *testing.T) {
	dir := t.TempDir()
	le := binary.LittleEndian
	notEther := build(le, magicMicro, 100)
	le.PutUint32(notEther[20:], 101) // raw IP
	os.WriteFile(dir+"/raw.pcap", notEther, 0o644)
	os.WriteFile(dir+"/junk.pcap", []byte("not a capture at all, really"), 0o644)
	writeFile(t, dir+"/good.pcap", nil)
	for _, tc := range []struct {
		name string
		cfg  PortConfig
		want error
	}{
		{"missing input", PortConfig{In: dir + "/nope.pcap"}, os.ErrNotExist},
		{"not Ethernet", PortConfig{In: dir + "/raw.pcap"}, ErrBadHeader},
		{"not pcap", PortConfig{In: dir + "/junk.pcap"}, ErrBadHeader},
		{"output in a missing directory", PortConfig{In: dir + "/good.pcap", Out: dir + "/no/out.pcap"}, os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Open(tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			if p != nil {
				t.Fatal("Open returned a port with an error")
			}
		})
	}
}

func TestPortDamagedInput(t *testing.T) {
	in := tempPath(t, "in.pcap")
	file := build(binary.LittleEndian, magicMicro, 100, rec{data: make([]byte, 60)}, rec{data: make([]byte, 60)})
	os.WriteFile(in, file[:len(file)-10], 0o644)
	pool := newPool(t, 64)
	c := pool.NewCache()
	p, err := Open(PortConfig{In: in})
	if err != nil {
		t.Fatal(err)
	}
	var v pkt.Vector
	if n := p.Recv(c, &v); n != 1 || !p.Done() || p.Err() != io.ErrUnexpectedEOF || p.Stats().RxErrors != 1 {
		t.Fatalf("Recv = %d, done %v, err %v, stats %+v", n, p.Done(), p.Err(), p.Stats())
	}
	c.FreeN(v.Slice())
	p.Close(c)
}

func TestPortRecvStopsWhenPoolIsDry(t *testing.T) {
	in := tempPath(t, "in.pcap")
	writeFile(t, in, [][]byte{{1}, {2}, {3}, {4}, {5}})
	pool := newPool(t, 2)
	c := pool.NewCache()
	p, _ := Open(PortConfig{In: in})
	var v pkt.Vector
	total := 0
	for !p.Done() {
		n := p.Recv(c, &v)
		if n > 2 {
			t.Fatalf("Recv = %d from a pool of 2", n)
		}
		for k, i := range v.Slice() {
			if d := c.Arena().Data(i); len(d) != 1 || d[0] != byte(total+k+1) {
				t.Fatalf("frame %d is % x", total+k, d)
			}
		}
		total += n
		c.FreeN(v.Slice())
		v.Reset()
	}
	if total != 5 {
		t.Fatalf("received %d of 5", total)
	}
	p.Close(c)
}
