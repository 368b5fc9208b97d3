package fib

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapZeroed maps n bytes of anonymous private memory outside the Go heap:
// it reads as zero, costs no memory until written, and the garbage
// collector neither scans nor moves it. It panics when the address space
// is exhausted.
func mapZeroed(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		panic(fmt.Sprintf("fib: mapping %d MiB: %v", n>>20, err))
	}
	return b
}

// zeroPages gives the pages of b back to the kernel: they read as zero
// again and no longer count as resident. b must be page aligned.
func zeroPages(b []byte) {
	_ = unix.Madvise(b, unix.MADV_DONTNEED) // fails only on bad arguments
}

// mincore sets vec[i]&1 when page i of b is resident (b page aligned,
// vec one byte a page); false when the kernel refuses.
func mincore(b []byte, vec []byte) bool {
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	return errno == 0
}

// unmap releases mappings made by mapZeroed (the cleanup of a collected
// table).
func unmap(m [2][]byte) {
	for _, b := range m {
		_ = unix.Munmap(b)
	}
}
