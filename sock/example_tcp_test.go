package sock_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/wire"
	"github.com/vecnet/vecnet/worker"
)

// net/http served on one data plane's TCP (sock.ListenTCP is a
// net.Listener) and fetched through another's (sock.Dialer is an
// http.Transport's DialContext); the two are joined by an in-memory link.
func ExampleListenTCP() {
	a, b := mem.NewPair(mem.Config{Name: "server"}, mem.Config{Name: "client"})
	serverMAC, clientMAC := wire.MAC{2, 0, 0, 0, 1, 1}, wire.MAC{2, 0, 0, 0, 1, 2}
	server, stopServer := exampleHost("10.9.0.1/24", serverMAC, a, [4]byte{10, 9, 0, 2}, clientMAC)
	client, stopClient := exampleHost("10.9.0.2/24", clientMAC, b, [4]byte{10, 9, 0, 1}, serverMAC)

	ln, err := sock.ListenTCP(server, netip.MustParseAddrPort("10.9.0.1:8080"))
	if err != nil {
		panic(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s over vecnet\n", r.URL.Path[1:])
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	tr := &http.Transport{DialContext: sock.Dialer(client)}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := hc.Get("http://10.9.0.1:8080/gopher")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, ": ", string(body))

	tr.CloseIdleConnections()
	srv.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		panic(err)
	}
	stopClient()
	stopServer()
	// Output:
	// 200 OK: hello gopher over vecnet
}

// exampleHost starts a data plane at addr (a prefix) with the host stack
// and TCP on one worker, its one interface on port, with a static
// neighbour entry for the peer. stop stops it and frees everything.
func exampleHost(addr string, mac wire.MAC, port *mem.Port, peer [4]byte, peerMAC wire.MAC) (st *stack.Stack, stop func()) {
	dp, err := dataplane.New(4096)
	if err != nil {
		panic(err)
	}
	if _, err := dp.AddInterface("mem0", mac, 1500, netip.MustParsePrefix(addr)); err != nil {
		panic(err)
	}
	dp.Neighbors.AddStatic(0, peer, peerMAC)
	st = dp.NewStack(stack.Config{Workers: 1, TCP: &tcp.Config{}})
	cache := dp.Pool.NewCache()
	in := driver.InputNode("mem-input", []driver.Binding{{If: 0, Port: port}}, ethernet.NodeName)
	g, err := dp.BuildGraph(cache, []graph.Registration{in}, []driver.Port{port})
	if err != nil {
		panic(err)
	}
	w, err := worker.New(0, g, []driver.Port{port})
	if err != nil {
		panic(err)
	}
	wt, err := st.TxWaiter(g)
	if err != nil {
		panic(err)
	}
	w.AddWaiter(wt)
	w.Start()
	return st, func() {
		w.Stop()
		st.Close()
		g.Close()
		port.Close(cache)
		cache.Flush()
		st.Flush()
		dp.Close()
	}
}
