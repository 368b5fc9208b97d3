// Package vlanpeer makes a kernel network device speak 802.1Q / 802.1ad
// where the kernel has no VLAN links (a kernel built without
// CONFIG_VLAN_8021Q, as this project's test machines are): a tc BPF
// program on the device's egress pushes the tags with the kernel's own
// bpf_skb_vlan_push (the tags travel as the VLAN code would send them:
// the outer one in skb metadata for the device's tx-vlan offload, inner
// ones in the frame), and one on the ingress of the device it sits on
// pops them (bpf_skb_vlan_pop) so that the kernel's IP stack takes the
// frame. It is for tests: the kernel's ping, ARP and ND then run over
// tagged links.
package vlanpeer

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Tag is one VLAN tag: its TPID (0x8100 or 0x88a8) and VLAN id.
type Tag struct {
	TPID uint16
	VID  uint16
}

// tcActOK is TC_ACT_OK: the packet continues.
const tcActOK = 0

// PushOnEgress makes every frame dev sends carry tags (outer first). The
// device must be in the caller's namespace.
func PushOnEgress(dev string, tags ...Tag) error {
	ins := asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)}
	for k := len(tags) - 1; k >= 0; k-- { // innermost first: each push goes outside
		ins = append(ins,
			asm.Mov.Reg(asm.R1, asm.R6),
			asm.Mov.Imm(asm.R2, int32(be16(tags[k].TPID))),
			asm.Mov.Imm(asm.R3, int32(tags[k].VID)),
			asm.FnSkbVlanPush.Call(),
		)
	}
	ins = append(ins, asm.Mov.Imm(asm.R0, tcActOK), asm.Return())
	return attach(dev, netlink.HANDLE_MIN_EGRESS, "vlan_push", ins)
}

// PopOnIngress makes dev take off up to n VLAN tags of every frame it
// receives before the kernel's stack sees it.
func PopOnIngress(dev string, n int) error {
	ins := asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)}
	for range n {
		ins = append(ins, asm.Mov.Reg(asm.R1, asm.R6), asm.FnSkbVlanPop.Call())
	}
	ins = append(ins, asm.Mov.Imm(asm.R0, tcActOK), asm.Return())
	return attach(dev, netlink.HANDLE_MIN_INGRESS, "vlan_pop", ins)
}

func be16(x uint16) uint16 { return x>>8 | x<<8 } // the helpers take the TPID in network order (little-endian host)

// attach loads ins as a direct-action tc classifier and attaches it on
// parent (ingress or egress) of dev, adding the clsact qdisc if needed.
func attach(dev string, parent uint32, name string, ins asm.Instructions) error {
	link, err := netlink.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("vlanpeer: %s: %w", dev, err)
	}
	q := &netlink.GenericQdisc{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index,
		Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT}, QdiscType: "clsact"}
	if err := netlink.QdiscReplace(q); err != nil {
		return fmt.Errorf("vlanpeer: clsact on %s: %w", dev, err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: name, Type: ebpf.SchedCLS, License: "GPL", Instructions: ins})
	if err != nil {
		return fmt.Errorf("vlanpeer: load %s: %w", name, err)
	}
	defer prog.Close() // the filter holds its own reference
	f := &netlink.BpfFilter{FilterAttrs: netlink.FilterAttrs{LinkIndex: link.Attrs().Index, Parent: parent, Handle: 1,
		Protocol: unix.ETH_P_ALL, Priority: 1}, Fd: prog.FD(), Name: name, DirectAction: true}
	if err := netlink.FilterReplace(f); err != nil {
		return fmt.Errorf("vlanpeer: attach %s to %s: %w", name, dev, err)
	}
	return nil
}
