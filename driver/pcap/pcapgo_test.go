package pcap

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// testRecords returns frames of varied lengths and times, some longer than
// a snap length of 1000.
func testRecords() ([]time.Time, [][]byte) {
	var ts []time.Time
	var data [][]byte
	t0 := time.Unix(1650000000, 123456789).UTC()
	for k := range 40 {
		d := make([]byte, 14+k*53)
		for j := range d {
			d[j] = byte(k + j*31)
		}
		ts = append(ts, t0.Add(time.Duration(k)*1234567*time.Nanosecond))
		data = append(data, d)
	}
	return ts, data
}

// TestPcapgoReadsOurs cross-checks Writer against gopacket's reader.
func TestPcapgoReadsOurs(t *testing.T) {
	ts, data := testRecords()
	var file bytes.Buffer
	w, _ := NewWriter(&file, 1000)
	for k := range data {
		if err := w.WritePacket(ts[k], data[k]); err != nil {
			t.Fatal(err)
		}
	}
	r, err := pcapgo.NewReader(&file)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != 1000 {
		t.Fatalf("pcapgo sees link type %v, snaplen %d", r.LinkType(), r.Snaplen())
	}
	for k := range data {
		got, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("record %d: %v", k, err)
		}
		n := min(len(data[k]), 1000)
		if !bytes.Equal(got, data[k][:n]) || ci.Length != len(data[k]) || !ci.Timestamp.Equal(ts[k].Truncate(time.Microsecond)) {
			t.Fatalf("record %d: pcapgo read %d of %d bytes at %v, want %d of %d at %v",
				k, len(got), ci.Length, ci.Timestamp, n, len(data[k]), ts[k])
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Fatalf("pcapgo at the end: %v", err)
	}
}

// TestWeReadPcapgo cross-checks Reader against gopacket's writer, in both
// resolutions.
func TestWeReadPcapgo(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(io.Writer) *pcapgo.Writer
		res  time.Duration
	}{{"micro", pcapgo.NewWriter, time.Microsecond}, {"nano", pcapgo.NewWriterNanos, time.Nanosecond}} {
		t.Run(tc.name, func(t *testing.T) {
			ts, data := testRecords()
			var file bytes.Buffer
			w := tc.new(&file)
			if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
				t.Fatal(err)
			}
			for k := range data {
				ci := gopacket.CaptureInfo{Timestamp: ts[k], CaptureLength: len(data[k]), Length: len(data[k]) + k}
				if err := w.WritePacket(ci, data[k]); err != nil {
					t.Fatal(err)
				}
			}
			r, err := NewReader(&file)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 65536)
			for k := range data {
				got, err := r.Next(buf)
				if err != nil {
					t.Fatalf("record %d: %v", k, err)
				}
				if !bytes.Equal(buf[:got.CapLen], data[k]) || got.OrigLen != len(data[k])+k || !got.Time.Equal(ts[k].Truncate(tc.res)) {
					t.Fatalf("record %d: %+v, want %d of %d bytes at %v", k, got, len(data[k]), len(data[k])+k, ts[k])
				}
			}
			if _, err := r.Next(buf); err != io.EOF {
				t.Fatalf("at the end: %v", err)
			}
		})
	}
}
