package main

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var updatePlots = flag.Bool("update-plots", false, "redraw ../../bench-forward.png and ../../bench-dns.png from the medians BENCHMARKS.md publishes")

// publishedPlots are the repository's two charts with the medians of the
// runs BENCHMARKS.md reports ("Forwarding" and "DNS" sections).
var publishedPlots = []struct {
	file, title, unit string
	sum               []Summary
}{
	{"bench-forward.png", "vecnet bench forward: frames forwarded, median", "sink Mpps", []Summary{
		{Config: "kernel", Rounds: 3, Median: Sample{SinkPPS: 1.370e6}},
		{Config: "afxdp", Rounds: 3, Median: Sample{SinkPPS: 1.446e6}},
		{Config: "afpacket", Rounds: 3, Median: Sample{SinkPPS: 1.415e6}},
	}},
	{"bench-dns.png", "vecnet bench dns: answers received, median", "answers, M/s", []Summary{
		{Config: "kernel", Rounds: 3, Median: Sample{SinkPPS: 0.397e6}},
		{Config: "ingraph", Rounds: 3, Median: Sample{SinkPPS: 0.789e6}},
		{Config: "sock", Rounds: 3, Median: Sample{SinkPPS: 0.594e6}},
		{Config: "knot", Rounds: 3, Median: Sample{SinkPPS: 0.397e6}},
		{Config: "knot-xdp", Rounds: 3, Median: Sample{SinkPPS: 0.573e6}},
	}},
}

// TestWriteBarPNG draws the published charts (into the repository with
// -update-plots) and checks each is a PNG whose width grows with the
// number of bars, with every bar's colour on it, and that a configuration
// without rounds is an empty slot, not an error.
func TestWriteBarPNG(t *testing.T) {
	for _, pp := range publishedPlots {
		path := filepath.Join(t.TempDir(), pp.file)
		if *updatePlots {
			path = filepath.Join("..", "..", pp.file)
		}
		if err := WriteBarPNG(path, pp.title, pp.unit, pp.sum); err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, path)
		if w := img.Bounds().Dx(); w != 100+140*len(pp.sum) {
			t.Errorf("%s: %d pixels wide, want %d", pp.file, w, 100+140*len(pp.sum))
		}
		for i := range pp.sum {
			if c := barColors[i%len(barColors)]; !hasColor(img, c) {
				t.Errorf("%s: no pixel of bar %d's colour %v", pp.file, i, c)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "partial.png")
	err := WriteBarPNG(path, "t", "u", []Summary{{Config: "kernel", Rounds: 1, Median: Sample{SinkPPS: 1e6}}, {Config: "afxdp"}})
	if err != nil {
		t.Fatal(err)
	}
	if img := decodePNG(t, path); hasColor(img, barColors[1]) {
		t.Error("a configuration without rounds has a bar")
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func hasColor(img image.Image, c color.RGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c {
				return true
			}
		}
	}
	return false
}
