package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

// glyphs is a 5×7 pixel font for the characters the plot writes; each row
// is five bits, most significant on the left. Other characters draw blank.
var glyphs = map[rune][7]uint8{
	'0': {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e},
	'1': {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
	'2': {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f},
	'3': {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
	'4': {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02},
	'5': {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
	'6': {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e},
	'7': {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	'8': {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e},
	'9': {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
	'.': {0, 0, 0, 0, 0, 0x0c, 0x0c},
	'/': {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10},
	'-': {0, 0, 0, 0x1f, 0, 0, 0},
	'M': {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11},
	'a': {0, 0, 0x0e, 0x01, 0x0f, 0x11, 0x0f},
	'c': {0, 0, 0x0e, 0x10, 0x10, 0x11, 0x0e},
	'd': {0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f},
	'e': {0, 0, 0x0e, 0x11, 0x1f, 0x10, 0x0e},
	'f': {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08},
	'i': {0x04, 0, 0x0c, 0x04, 0x04, 0x04, 0x0e},
	'k': {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12},
	'l': {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e},
	'm': {0, 0, 0x1a, 0x15, 0x15, 0x11, 0x11},
	'n': {0, 0, 0x16, 0x19, 0x11, 0x11, 0x11},
	'o': {0, 0, 0x0e, 0x11, 0x11, 0x11, 0x0e},
	'p': {0, 0, 0x1e, 0x11, 0x1e, 0x10, 0x10},
	'r': {0, 0, 0x16, 0x19, 0x10, 0x10, 0x10},
	's': {0, 0, 0x0e, 0x10, 0x0e, 0x01, 0x1e},
	't': {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06},
	'x': {0, 0, 0x11, 0x0a, 0x04, 0x0a, 0x11},
}

// drawText writes s at (x, y) (top left) with each font pixel scale×scale.
func drawText(img *image.RGBA, x, y, scale int, s string, c color.Color) {
	for _, r := range s {
		g := glyphs[r]
		for row := 0; row < 7; row++ {
			for col := 0; col < 5; col++ {
				if g[row]&(0x10>>col) == 0 {
					continue
				}
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						img.Set(x+col*scale+dx, y+row*scale+dy, c)
					}
				}
			}
		}
		x += 6 * scale
	}
}

func textWidth(s string, scale int) int { return len([]rune(s)) * 6 * scale }

// WriteBarPNG draws one bar per configuration: its median sink rate in
// Mpps, the value above the bar and the name below.
func WriteBarPNG(path string, sum []Summary) error {
	const (
		barW, gap, left, top, bottom, plotH, scale = 120, 60, 40, 60, 50, 300, 2
	)
	w := left*2 + len(sum)*barW + (len(sum)-1)*gap
	h := top + plotH + bottom
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	white := color.RGBA{255, 255, 255, 255}
	black := color.RGBA{0, 0, 0, 255}
	colors := []color.RGBA{{120, 120, 120, 255}, {40, 110, 200, 255}, {230, 140, 30, 255}, {60, 160, 80, 255}}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, white)
		}
	}
	drawText(img, left, 15, scale, "sink Mpps median", black)
	var top1 float64
	for _, s := range sum {
		top1 = max(top1, s.Median.SinkPPS)
	}
	if top1 == 0 {
		top1 = 1
	}
	base := top + plotH
	for x := left - 10; x < w-left+10; x++ {
		img.Set(x, base, black)
	}
	for i, s := range sum {
		x0 := left + i*(barW+gap)
		bh := int(s.Median.SinkPPS / top1 * float64(plotH-30))
		c := colors[i%len(colors)]
		for y := base - bh; y < base; y++ {
			for x := x0; x < x0+barW; x++ {
				img.Set(x, y, c)
			}
		}
		val := fmt.Sprintf("%.3f", s.Median.SinkPPS/1e6)
		if s.Rounds == 0 {
			val = "-"
		}
		drawText(img, x0+(barW-textWidth(val, scale))/2, base-bh-20, scale, val, black)
		drawText(img, x0+(barW-textWidth(s.Config, scale))/2, base+12, scale, s.Config, black)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
