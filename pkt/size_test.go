package pkt

import "unsafe"

func sizeofMeta() uintptr { return unsafe.Sizeof(Meta{}) }
