package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// rec is one record of a hand-built file.
type rec struct {
	sec, frac  uint32
	incl, orig uint32 // incl 0 means len(data), orig 0 means incl
	data       []byte
}

// build returns a pcap file in byte order o with the given magic.
func build(o binary.AppendByteOrder, magic, snaplen uint32, recs ...rec) []byte {
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = o.AppendUint32(b, 0)
	b = o.AppendUint32(b, 0)
	b = o.AppendUint32(b, snaplen)
	b = o.AppendUint32(b, LinkTypeEthernet)
	for _, r := range recs {
		if r.incl == 0 {
			r.incl = uint32(len(r.data))
		}
		if r.orig == 0 {
			r.orig = r.incl
		}
		b = o.AppendUint32(b, r.sec)
		b = o.AppendUint32(b, r.frac)
		b = o.AppendUint32(b, r.incl)
		b = o.AppendUint32(b, r.orig)
		b = append(b, r.data...)
	}
	return b
}

func TestWriterGolden(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 65535)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(time.Unix(1700000000, 123456789), []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0xd4, 0xc3, 0xb2, 0xa1, // magic, microseconds, little-endian
		0x02, 0x00, 0x04, 0x00, // version 2.4
		0x00, 0x00, 0x00, 0x00, // thiszone
		0x00, 0x00, 0x00, 0x00, // sigfigs
		0xff, 0xff, 0x00, 0x00, // snaplen 65535
		0x01, 0x00, 0x00, 0x00, // linktype Ethernet
		0x00, 0xf1, 0x53, 0x65, // ts_sec 1700000000
		0x40, 0xe2, 0x01, 0x00, // ts_usec 123456
		0x04, 0x00, 0x00, 0x00, // incl_len
		0x04, 0x00, 0x00, 0x00, // orig_len
		0xde, 0xad, 0xbe, 0xef,
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("file bytes (-want +got):\n- % x\n+ % x", want, buf.Bytes())
	}
}

func TestReaderFormats(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6}
	tests := []struct {
		name  string
		order binary.AppendByteOrder
		magic uint32
		frac  uint32
		want  time.Time
	}{
		{"micro little", binary.LittleEndian, magicMicro, 654321, time.Unix(1700000000, 654321000)},
		{"micro big", binary.BigEndian, magicMicro, 654321, time.Unix(1700000000, 654321000)},
		{"nano little", binary.LittleEndian, magicNano, 987654321, time.Unix(1700000000, 987654321)},
		{"nano big", binary.BigEndian, magicNano, 987654321, time.Unix(1700000000, 987654321)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := build(tc.order, tc.magic, 1500,
				rec{sec: 1700000000, frac: tc.frac, data: data, orig: 60},
				rec{sec: 1700000001, data: data[:1]})
			r, err := NewReader(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Snaplen() != 1500 || r.LinkType() != LinkTypeEthernet || r.Nanosecond() != (tc.magic == magicNano) {
				t.Fatalf("header: snaplen %d linktype %d nano %v", r.Snaplen(), r.LinkType(), r.Nanosecond())
			}
			buf := make([]byte, 100)
			got, err := r.Next(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tc.want) || got.CapLen != 6 || got.OrigLen != 60 || !bytes.Equal(buf[:6], data) {
				t.Fatalf("record %+v % x, want time %v, 6 of 60 bytes", got, buf[:got.CapLen], tc.want)
			}
			if got, err = r.Next(buf); err != nil || got.CapLen != 1 || !got.Time.Equal(time.Unix(1700000001, 0)) {
				t.Fatalf("second record %+v, %v", got, err)
			}
			if _, err = r.Next(buf); err != io.EOF {
				t.Fatalf("after the last record: %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	le := binary.LittleEndian
	good := build(le, magicMicro, 100, rec{data: make([]byte, 50)})
	badVersion := bytes.Clone(good)
	badVersion[4] = 3
	tests := []struct {
		name    string
		file    []byte
		openErr error // from NewReader
		nextErr error // from the first Next
	}{
		{"empty", nil, io.ErrUnexpectedEOF, nil},
		{"short header", good[:20], io.ErrUnexpectedEOF, nil},
		{"bad magic", append([]byte{1, 2, 3, 4}, good[4:]...), ErrBadHeader, nil},
		{"pcapng", build(le, 0x0a0d0d0a, 100), ErrBadHeader, nil},
		{"bad version", badVersion, ErrBadHeader, nil},
		{"no records", good[:24], nil, io.EOF},
		{"cut in record header", good[:30], nil, io.ErrUnexpectedEOF},
		{"cut in data", good[:len(good)-1], nil, io.ErrUnexpectedEOF},
		{"longer than snaplen", build(le, magicMicro, 40, rec{data: make([]byte, 50)}), nil, ErrBadRecord},
		{"absurd with snaplen 0", build(le, magicMicro, 0, rec{incl: MaxSnaplen + 1}), nil, ErrBadRecord},
		{"absurd with huge snaplen", build(le, magicMicro, 1<<31, rec{incl: 1 << 30}), nil, ErrBadRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.file))
			if !errors.Is(err, tc.openErr) || (err == nil) != (tc.openErr == nil) {
				t.Fatalf("NewReader: %v, want %v", err, tc.openErr)
			}
			if err != nil {
				return
			}
			if _, err := r.Next(make([]byte, 200)); err != tc.nextErr {
				t.Fatalf("Next: %v, want %v", err, tc.nextErr)
			}
		})
	}
}

func TestReaderSkipsRecordLongerThanBuffer(t *testing.T) {
	for _, size := range []int{0, 3, 10} {
		file := build(binary.LittleEndian, magicMicro, 100,
			rec{data: bytes.Repeat([]byte{7}, 50)}, rec{data: []byte{1, 2}})
		r, _ := NewReader(bytes.NewReader(file))
		buf := make([]byte, size)
		got, err := r.Next(buf)
		if err != ErrShortBuffer || got.CapLen != 50 {
			t.Fatalf("buffer of %d: %+v, %v; want ErrShortBuffer and CapLen 50", size, got, err)
		}
		buf = make([]byte, 10)
		if got, err = r.Next(buf); err != nil || got.CapLen != 2 || buf[0] != 1 {
			t.Fatalf("buffer of %d: the record after the skipped one: %+v, %v", size, got, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	var file bytes.Buffer
	w, err := NewWriter(&file, 100)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1600000000, 999999999)
	var want [][]byte
	for k := range 50 {
		d := bytes.Repeat([]byte{byte(k)}, k*3) // some longer than the snap length
		want = append(want, d)
		if err := w.WritePacket(t0.Add(time.Duration(k)*time.Millisecond), d); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReader(&file)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 200)
	for k, d := range want {
		got, err := r.Next(buf)
		if err != nil {
			t.Fatal(err)
		}
		ts := t0.Add(time.Duration(k) * time.Millisecond).Truncate(time.Microsecond)
		capLen := min(len(d), 100)
		if !got.Time.Equal(ts) || got.CapLen != capLen || got.OrigLen != len(d) || !bytes.Equal(buf[:capLen], d[:capLen]) {
			t.Fatalf("record %d: %+v, want time %v, %d of %d bytes", k, got, ts, capLen, len(d))
		}
	}
	if _, err := r.Next(buf); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(b []byte) (int, error) {
	if f.after <= 0 {
		return 0, io.ErrClosedPipe
	}
	f.after--
	return len(b), nil
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(&failWriter{}, 0); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("header write error: %v", err)
	}
	if _, err := NewWriter(io.Discard, MaxSnaplen+1); err == nil {
		t.Error("snap length past MaxSnaplen accepted")
	}
	w, _ := NewWriter(io.Discard, 0)
	for _, ts := range []time.Time{time.Unix(-1, 0), time.Unix(1<<32, 0)} {
		if err := w.WritePacket(ts, nil); err != ErrTimeRange {
			t.Errorf("WritePacket at %v: %v, want ErrTimeRange", ts, err)
		}
	}
	fw := &failWriter{after: 2} // the file header and one record header
	w, _ = NewWriter(fw, 0)
	if err := w.WritePacket(time.Unix(1, 0), []byte{1}); err != io.ErrClosedPipe {
		t.Fatalf("first failing write: %v", err)
	}
	fw.after = 100
	if err := w.WritePacket(time.Unix(1, 0), []byte{1}); err != io.ErrClosedPipe || w.Err() != io.ErrClosedPipe {
		t.Fatalf("the error did not stick: %v, %v", err, w.Err())
	}
}

func TestNoAllocs(t *testing.T) {
	var file bytes.Buffer
	w, _ := NewWriter(&file, 0)
	data := make([]byte, 1500)
	ts := time.Unix(1700000000, 0)
	for range 1000 {
		w.WritePacket(ts, data)
	}
	src := bytes.NewReader(file.Bytes())
	r, _ := NewReader(src)
	buf := make([]byte, 2048)
	if n := testing.AllocsPerRun(500, func() {
		if _, err := r.Next(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Reader.Next: %v allocations per record", n)
	}
	w, _ = NewWriter(io.Discard, 0)
	if n := testing.AllocsPerRun(500, func() { w.WritePacket(ts, data) }); n != 0 {
		t.Errorf("Writer.WritePacket: %v allocations per record", n)
	}
}
