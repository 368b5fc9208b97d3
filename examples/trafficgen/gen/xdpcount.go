package gen

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// XDPCounter is the benchmark sink: an XDP program that counts every frame
// and its bytes in a per-CPU array and drops it, so the kernel does no
// protocol work for it. It counts every frame, not only generator frames.
// Its methods are safe for concurrent use.
type XDPCounter struct {
	prog   *ebpf.Program
	counts *ebpf.Map // per-CPU array: [0] frames, [1] bytes
	link   link.Link
}

// Counter map keys.
const (
	keyFrames uint32 = 0
	keyBytes  uint32 = 1
)

// AttachXDPCounter loads the program and attaches it to ifindex (in the
// network namespace of the calling thread), in native (driver) mode, or
// generic mode when generic is set. Close detaches it.
func AttachXDPCounter(ifindex int, generic bool) (*XDPCounter, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("gen: remove memlock rlimit: %w", err)
	}
	c := &XDPCounter{}
	var err error
	c.counts, err = ebpf.NewMap(&ebpf.MapSpec{
		Name: "gen_count", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2,
	})
	if err != nil {
		return nil, fmt.Errorf("gen: counter map: %w", err)
	}
	c.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "gen_xdp_count", Type: ebpf.XDP, License: "Dual MIT/GPL",
		Instructions: countInstructions(c.counts),
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("gen: load counter program: %w", err)
	}
	flags := link.XDPDriverMode
	if generic {
		flags = link.XDPGenericMode
	}
	c.link, err = link.AttachXDP(link.XDPOptions{Program: c.prog, Interface: ifindex, Flags: flags})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("gen: attach counter to ifindex %d: %w", ifindex, err)
	}
	return c, nil
}

// countInstructions assembles:
//
//	len = ctx->data_end - ctx->data
//	if v = lookup(counts, 0): *v += 1
//	if v = lookup(counts, 1): *v += len
//	return XDP_DROP
//
// R6 holds ctx, R7 the frame length. A per-CPU slot is only written by its
// CPU, so plain adds suffice.
func countInstructions(m *ebpf.Map) asm.Instructions {
	const xdpDrop = 1
	ins := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R7, asm.R6, 4, asm.Word), // data_end
		asm.LoadMem(asm.R2, asm.R6, 0, asm.Word), // data
		asm.Sub.Reg(asm.R7, asm.R2),
	}
	// add emits "if v = lookup(counts, key): *v = op(*v)"; its first
	// instruction carries the symbol sym, and a miss jumps to skip.
	add := func(sym string, key uint32, op asm.Instruction, skip string) asm.Instructions {
		return asm.Instructions{
			asm.StoreImm(asm.RFP, -4, int64(key), asm.Word).WithSymbol(sym),
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, skip),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
			op,
			asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
		}
	}
	ins = append(ins, add("frames", keyFrames, asm.Add.Imm(asm.R1, 1), "bytes")...)
	ins = append(ins, add("bytes", keyBytes, asm.Add.Reg(asm.R1, asm.R7), "out")...)
	ins = append(ins,
		asm.Mov.Imm(asm.R0, xdpDrop).WithSymbol("out"),
		asm.Return(),
	)
	return ins
}

// Count returns the frames and bytes counted so far, summed over CPUs.
func (c *XDPCounter) Count() (frames, bytes uint64, err error) {
	sum := func(key uint32) (uint64, error) {
		var per []uint64
		if err := c.counts.Lookup(key, &per); err != nil {
			return 0, err
		}
		var s uint64
		for _, v := range per {
			s += v
		}
		return s, nil
	}
	if frames, err = sum(keyFrames); err != nil {
		return 0, 0, fmt.Errorf("gen: read counter: %w", err)
	}
	if bytes, err = sum(keyBytes); err != nil {
		return 0, 0, fmt.Errorf("gen: read counter: %w", err)
	}
	return frames, bytes, nil
}

// Close detaches the program and releases it and its map.
func (c *XDPCounter) Close() error {
	var errs []error
	if c.link != nil {
		errs = append(errs, c.link.Close())
	}
	if c.prog != nil {
		errs = append(errs, c.prog.Close())
	}
	if c.counts != nil {
		errs = append(errs, c.counts.Close())
	}
	c.link, c.prog, c.counts = nil, nil, nil
	return errors.Join(errs...)
}
