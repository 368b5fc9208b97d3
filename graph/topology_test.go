package graph

import (
	"slices"
	"testing"

	"github.com/vecnet/vecnet/pkt"
)

func TestTopologyListsEdgesByIndex(t *testing.T) {
	_, c := testCache(t, 64)
	pass := func(n *Node, v *pkt.Vector) int { k := v.Len; n.Cache().FreeN(v.Idx[:k]); v.Reset(); return k }
	g, err := Build(c, []Registration{
		{Name: "in", Kind: Input, Next: []string{"mid"}, Func: pass},
		{Name: "mid", Next: []string{"out"}, Func: pass, Init: func(n *Node) error {
			_, err := n.Edge("in") // an edge added at init time is listed too
			return err
		}},
		{Name: "out", Func: pass},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := g.Topology()
	want := []NodeInfo{
		{Name: DropNodeName, Kind: Internal, Next: []string{DropNodeName}},
		{Name: "in", Kind: Input, Next: []string{DropNodeName, "mid"}},
		{Name: "mid", Kind: Internal, Next: []string{DropNodeName, "out", "in"}},
		{Name: "out", Kind: Internal, Next: []string{DropNodeName}},
	}
	if !slices.EqualFunc(got, want, func(x, y NodeInfo) bool {
		return x.Name == y.Name && x.Kind == y.Kind && slices.Equal(x.Next, y.Next)
	}) {
		t.Fatalf("Topology() = %+v\nwant %+v", got, want)
	}
}
