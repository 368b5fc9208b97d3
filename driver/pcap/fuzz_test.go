package pcap

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"
	"time"
)

// fuzzBuf is the record buffer of FuzzReader; inputs run one at a time in a
// fuzz process.
var fuzzBuf = make([]byte, MaxSnaplen)

// FuzzReader reads arbitrary bytes as a capture file. Invariants: no panic;
// reading records allocates nothing, whatever lengths the file claims; every
// record fits the reader's limit; reading ends with io.EOF,
// io.ErrUnexpectedEOF or ErrBadRecord; writing the records again and reading
// them back gives the same bytes and times (to the microsecond).
func FuzzReader(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	// Seeds: what our writer makes.
	var w1 bytes.Buffer
	w, _ := NewWriter(&w1, 65535)
	w.WritePacket(time.Unix(1700000000, 123456789), []byte{0xde, 0xad, 0xbe, 0xef})
	w.WritePacket(time.Unix(1700000001, 0), make([]byte, 60))
	f.Add(w1.Bytes())
	// Big-endian nanosecond file, records of 0, 1 and 14 bytes.
	f.Add(build(be, magicNano, 1500, rec{sec: 1, frac: 999999999}, rec{data: []byte{1}}, rec{data: make([]byte, 14)}))
	// Little-endian nanosecond and big-endian microsecond.
	f.Add(build(le, magicNano, 64, rec{sec: 5, frac: 7, data: []byte{9, 9}, orig: 1000}))
	f.Add(build(be, magicMicro, 0, rec{sec: math.MaxUint32, frac: math.MaxUint32, data: []byte{1, 2, 3}}))
	// Truncated in a record header, and in the data.
	f.Add(w1.Bytes()[:30])
	f.Add(w1.Bytes()[:len(w1.Bytes())-1])
	// A record longer than the snap length, and one claiming 1 GiB.
	f.Add(build(le, magicMicro, 10, rec{data: make([]byte, 11)}))
	f.Add(build(le, magicMicro, 0, rec{incl: 1 << 30}))
	// Header only; not pcap at all.
	f.Add(w1.Bytes()[:24])
	f.Add([]byte("\x0a\x0d\x0d\x0a pcapng is not read"))

	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		r, err := NewReader(src)
		if err != nil {
			return
		}
		if r.Limit() <= 0 || r.Limit() > MaxSnaplen {
			t.Fatalf("limit %d outside 1..%d", r.Limit(), MaxSnaplen)
		}
		if n := testing.AllocsPerRun(1, func() {
			src.Seek(fileHeaderLen, io.SeekStart)
			for {
				if _, err := r.Next(fuzzBuf); err != nil {
					return
				}
			}
		}); n != 0 {
			t.Fatalf("reading the records made %v allocations", n)
		}

		src.Seek(fileHeaderLen, io.SeekStart)
		var recs []Record
		var frames [][]byte
		for {
			rec, err := r.Next(fuzzBuf)
			if err == io.EOF || err == io.ErrUnexpectedEOF || err == ErrBadRecord {
				break
			}
			if err != nil {
				t.Fatalf("record %d: unexpected error %v", len(recs), err)
			}
			if rec.CapLen < 0 || rec.CapLen > r.Limit() {
				t.Fatalf("record %d: %d bytes, limit %d", len(recs), rec.CapLen, r.Limit())
			}
			recs = append(recs, rec)
			frames = append(frames, bytes.Clone(fuzzBuf[:rec.CapLen]))
		}
		if len(recs) > (len(data)-fileHeaderLen)/recordHeaderLen {
			t.Fatalf("%d records from %d bytes", len(recs), len(data))
		}

		var out bytes.Buffer
		w, err := NewWriter(&out, r.Limit())
		if err != nil {
			t.Fatal(err)
		}
		var wantRecs []Record
		var wantFrames [][]byte
		for k, rec := range recs {
			if err := w.WritePacket(rec.Time, frames[k]); err != nil {
				if err == ErrTimeRange && rec.Time.Unix() > math.MaxUint32 {
					continue // a huge ts_frac carried the time past 2106
				}
				t.Fatalf("rewriting record %d: %v", k, err)
			}
			wantRecs, wantFrames = append(wantRecs, rec), append(wantFrames, frames[k])
		}
		r2, err := NewReader(&out)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range wantRecs {
			got, err := r2.Next(fuzzBuf)
			if err != nil {
				t.Fatalf("re-reading record %d: %v", k, err)
			}
			if !bytes.Equal(fuzzBuf[:got.CapLen], wantFrames[k]) || !got.Time.Equal(want.Time.Truncate(time.Microsecond)) {
				t.Fatalf("record %d: re-read %+v, want %+v", k, got, want)
			}
		}
		if _, err := r2.Next(fuzzBuf); err != io.EOF {
			t.Fatalf("after the re-read records: %v", err)
		}
	})
}
