package xdpprog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// Mode is where the program attaches in the device's receive path.
type Mode int

const (
	// Native runs the program in the driver (XDP_FLAGS_DRV_MODE).
	Native Mode = iota
	// Generic runs it on the skb after the driver (XDP_FLAGS_SKB_MODE). On
	// veth it is faster than Native for frames the stack or AF_XDP copy mode
	// sent, which lack the headroom native veth XDP needs.
	Generic
)

// String returns "native" or "generic".
func (m Mode) String() string {
	if m == Generic {
		return "generic"
	}
	return "native"
}

// Program is a loaded steering program and its maps. Its methods are safe
// for concurrent use (the kernel serialises map updates).
type Program struct {
	prog   *ebpf.Program
	xsks   *ebpf.Map
	addrs  *ebpf.Map // nil for Match.All
	queues int
	match  Match
}

var memlock struct {
	once sync.Once
	err  error
}

// removeMemlock lifts RLIMIT_MEMLOCK once per process, for kernels that
// still charge BPF objects to it.
func removeMemlock() error {
	memlock.once.Do(func() { memlock.err = rlimit.RemoveMemlock() })
	return memlock.err
}

// Load builds the program for m with an XSKMAP of queues slots and loads it
// into the kernel. Nothing is attached yet: call Register for each queue's
// socket and Attach. Close releases the program and maps.
func Load(m Match, queues int) (*Program, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if queues < 1 {
		return nil, fmt.Errorf("%w: %d queues", ErrInvalidMatch, queues)
	}
	if err := removeMemlock(); err != nil {
		return nil, fmt.Errorf("xdpprog: remove memlock rlimit: %w", err)
	}
	p := &Program{queues: queues, match: m}
	var err error
	p.xsks, err = ebpf.NewMap(&ebpf.MapSpec{
		Name: "vecnet_xsks", Type: ebpf.XSKMap,
		KeySize: 4, ValueSize: 4, MaxEntries: uint32(queues),
	})
	if err != nil {
		return nil, fmt.Errorf("xdpprog: create xskmap: %w", err)
	}
	if !m.All {
		p.addrs, err = ebpf.NewMap(&ebpf.MapSpec{
			Name: "vecnet_addrs", Type: ebpf.Hash,
			KeySize: 4, ValueSize: 1, MaxEntries: uint32(len(m.DstIP)),
		})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("xdpprog: create address map: %w", err)
		}
		for _, a := range m.DstIP {
			if err := p.addrs.Put(a.As4(), uint8(1)); err != nil {
				p.Close()
				return nil, fmt.Errorf("xdpprog: add %v: %w", a, err)
			}
		}
	}
	p.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "vecnet_xdp",
		Type:         ebpf.XDP,
		License:      "Dual MIT/GPL",
		Instructions: instructions(m, p.xsks, p.addrs),
	})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("xdpprog: load program: %w", err)
	}
	return p, nil
}

// Offsets in struct xdp_md and in headers.
const (
	mdData         = 0
	mdDataEnd      = 4
	mdRxQueueIndex = 16

	xdpPass = 2

	ethLen     = 14
	vlanLen    = 4
	ipv4MinLen = 20
	arpLen     = 28 // Ethernet/IPv4 ARP
)

// be16 returns the immediate that equals a big-endian 16-bit field loaded
// by a little-endian machine.
func be16(v uint16) int32 { return int32(v>>8 | v<<8&0xff00) }

// instructions assembles the program. Registers: R6 ctx, R2 data, R3
// data_end, R7 L3 header, R8 IPv4 address to look up, R4/R5 scratch.
func instructions(m Match, xsks, addrs *ebpf.Map) asm.Instructions {
	redirect := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R6, mdRxQueueIndex, asm.Word).WithSymbol("redirect"),
		asm.LoadMapPtr(asm.R1, xsks.FD()),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),
	}
	if m.All {
		return append(asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)}, redirect...)
	}
	ins := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R6, mdData, asm.Word),
		asm.LoadMem(asm.R3, asm.R6, mdDataEnd, asm.Word),
		// Ethernet header.
		asm.Mov.Reg(asm.R7, asm.R2),
		asm.Add.Imm(asm.R7, ethLen),
		asm.JGT.Reg(asm.R7, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R2, 12, asm.Half),
		asm.JEq.Imm(asm.R4, be16(0x8100), "tag1"),
		asm.JNE.Imm(asm.R4, be16(0x88a8), "l3"),
		// A first tag (802.1Q, or an 802.1ad service tag): the EtherType
		// or the inner 802.1Q tag's TPID follows it.
		asm.Add.Imm(asm.R7, vlanLen).WithSymbol("tag1"),
		asm.JGT.Reg(asm.R7, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R2, ethLen+2, asm.Half),
		asm.JNE.Imm(asm.R4, be16(0x8100), "l3"),
		// A second tag (QinQ, as VLAN sub-interfaces take it).
		asm.Add.Imm(asm.R7, vlanLen),
		asm.JGT.Reg(asm.R7, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R2, ethLen+vlanLen+2, asm.Half),
		asm.JEq.Imm(asm.R4, be16(0x0806), "arp").WithSymbol("l3"),
		asm.JNE.Imm(asm.R4, be16(0x0800), "pass"),
		// IPv4 header (fixed part).
		asm.Mov.Reg(asm.R5, asm.R7),
		asm.Add.Imm(asm.R5, ipv4MinLen),
		asm.JGT.Reg(asm.R5, asm.R3, "pass"),
		asm.LoadMem(asm.R8, asm.R7, 16, asm.Word), // destination address
	}
	if m.Proto != 0 {
		ins = append(ins,
			asm.LoadMem(asm.R4, asm.R7, 9, asm.Byte),
			asm.JNE.Imm(asm.R4, int32(m.Proto), "pass"),
		)
	}
	if m.DstPort != 0 {
		ins = append(ins,
			// Only the first fragment carries the port.
			asm.LoadMem(asm.R4, asm.R7, 6, asm.Half),
			asm.And.Imm(asm.R4, be16(0x1fff)),
			asm.JNE.Imm(asm.R4, 0, "pass"),
			// R7 += IHL*4, a scalar the verifier knows lies in [20, 60].
			asm.LoadMem(asm.R4, asm.R7, 0, asm.Byte),
			asm.And.Imm(asm.R4, 0x0f),
			asm.LSh.Imm(asm.R4, 2),
			asm.JLT.Imm(asm.R4, ipv4MinLen, "pass"),
			asm.Add.Reg(asm.R7, asm.R4),
			asm.Mov.Reg(asm.R5, asm.R7),
			asm.Add.Imm(asm.R5, 4),
			asm.JGT.Reg(asm.R5, asm.R3, "pass"),
			asm.LoadMem(asm.R4, asm.R7, 2, asm.Half),
			asm.JNE.Imm(asm.R4, be16(m.DstPort), "pass"),
		)
	}
	ins = append(ins,
		// Look R8 up in the address map.
		asm.StoreMem(asm.RFP, -4, asm.R8, asm.Word).WithSymbol("lookup"),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, addrs.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		asm.Ja.Label("redirect"),
		// ARP for Ethernet/IPv4: look up the target protocol address.
		asm.Mov.Reg(asm.R5, asm.R7).WithSymbol("arp"),
		asm.Add.Imm(asm.R5, arpLen),
		asm.JGT.Reg(asm.R5, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R7, 2, asm.Half),
		asm.JNE.Imm(asm.R4, be16(0x0800), "pass"),
		asm.LoadMem(asm.R8, asm.R7, 24, asm.Word),
		asm.Ja.Label("lookup"),
		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("pass"),
		asm.Return(),
	)
	return append(ins, redirect...)
}

// Match returns the match the program was built for.
func (p *Program) Match() Match { return p.match }

// Queues returns the number of XSKMAP slots.
func (p *Program) Queues() int { return p.queues }

// Prog returns the loaded program. It stays owned by p.
func (p *Program) Prog() *ebpf.Program { return p.prog }

// XSKMap returns the socket map. It stays owned by p.
func (p *Program) XSKMap() *ebpf.Map { return p.xsks }

// Register puts the AF_XDP socket xskFD in queue's slot: frames that match
// and arrive on that queue go to it. The socket must be bound to the device
// and queue.
func (p *Program) Register(queue int, xskFD int) error {
	if queue < 0 || queue >= p.queues {
		return fmt.Errorf("xdpprog: queue %d out of range [0, %d)", queue, p.queues)
	}
	if err := p.xsks.Put(uint32(queue), uint32(xskFD)); err != nil {
		return fmt.Errorf("xdpprog: register socket on queue %d: %w", queue, err)
	}
	return nil
}

// Unregister empties queue's slot, so its frames go to the kernel again.
func (p *Program) Unregister(queue int) error {
	err := p.xsks.Delete(uint32(queue))
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("xdpprog: unregister queue %d: %w", queue, err)
	}
	return nil
}

// Attach attaches the program to the device ifindex (in the network
// namespace of the calling thread) through a bpf_link. Closing the link, or
// the death of the process, detaches it. The link is owned by the caller;
// it stays valid after p is closed.
func (p *Program) Attach(ifindex int, mode Mode) (link.Link, error) {
	flags := link.XDPDriverMode
	if mode == Generic {
		flags = link.XDPGenericMode
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: p.prog, Interface: ifindex, Flags: flags})
	if err != nil {
		return nil, fmt.Errorf("xdpprog: attach to ifindex %d in %v mode: %w", ifindex, mode, err)
	}
	return l, nil
}

// Close releases the program and its maps. Links already attached keep the
// program alive until they are closed.
func (p *Program) Close() error {
	var errs []error
	if p.prog != nil {
		errs = append(errs, p.prog.Close())
	}
	if p.xsks != nil {
		errs = append(errs, p.xsks.Close())
	}
	if p.addrs != nil {
		errs = append(errs, p.addrs.Close())
	}
	p.prog, p.xsks, p.addrs = nil, nil, nil
	return errors.Join(errs...)
}
