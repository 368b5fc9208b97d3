package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/topo"
)

// cmdDemo builds host-a ↔ vecnet ↔ host-b in network namespaces, routes
// between them on AF_XDP (or AF_PACKET), proves it with ping and iperf3,
// prints what the router saw, and removes everything — also on Ctrl-C.
func cmdDemo(path string, args []string) error {
	fs := newFlags(path, "[flags]", "Build host-a ↔ vecnet ↔ host-b in network namespaces, route between them on AF_XDP (or AF_PACKET),\nping and iperf3 through, print what the router saw, and remove everything (as root).")
	driver := fs.String("driver", "afxdp", "port driver: afxdp or afpacket")
	// Native by default: the demo's hosts keep their default offloads, and
	// native XDP on a veth makes the kernel turn the peer's TSO/GSO off; in
	// generic mode their TCP arrives as 64 KiB GSO super-frames.
	xdpMode := fs.String("xdp-mode", "native", "afxdp attach mode: native, generic, or empty for the best per device kind")
	seconds := fs.Int("seconds", 3, "iperf3 run time")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("demo: needs root (network namespaces, XDP)")
	}
	for _, tool := range []string{"ip", "ping", "iperf3"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("demo: %s is missing: run scripts/setup.sh", tool)
		}
	}

	rig, err := topo.NewRig(topo.RigOptions{Prefix: "demo"})
	if err != nil {
		return err
	}
	var d *daemon.Daemon
	cleanup := func() {
		if d != nil {
			if err := d.Stop(); err != nil {
				slog.Error("demo: stopping vecnet", "err", err)
			}
			d = nil
		}
		if err := rig.Close(); err != nil {
			slog.Error("demo: removing the namespaces", "err", err)
		}
	}
	defer cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			slog.Warn("demo interrupted: removing the namespaces")
			cleanup()
			os.Exit(130)
		}
	}()
	fmt.Printf("== namespaces %s: host-a %s ── [%s vecnet %s] ── host-b %s\n",
		rig.Names(), topo.HostAAddr, topo.RouterAAddr, topo.RouterBAddr, topo.HostBAddr)

	cfg := DemoConfig(rig, *driver, *xdpMode, "/run/vecnet/demo.sock")
	d, err = daemon.Start(cfg, daemon.Options{})
	if err != nil {
		return err
	}

	step := func(title string, ns topo.NS, name string, args ...string) error {
		fmt.Printf("\n== %s: %s %s\n", title, name, strings.Join(args, " "))
		cmd := ns.Command(name, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	if err := step("host-a pings host-b through vecnet", rig.A, "ping", "-c", "3", "-i", "0.2", "-W", "2", topo.HostBAddr); err != nil {
		return fmt.Errorf("ping through vecnet: %w", err)
	}
	if err := step("host-b pings the router's address", rig.B, "ping", "-c", "2", "-i", "0.2", "-W", "2", topo.RouterBAddr); err != nil {
		return fmt.Errorf("ping vecnet: %w", err)
	}
	if err := step("TTL 1 gets time-exceeded from vecnet", rig.A, "sh", "-c", "ping -c 1 -t 1 -W 2 "+topo.HostBAddr+" || true"); err != nil {
		return err
	}
	srv := rig.B.Command("iperf3", "-s", "-1")
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Process.Kill()
	if err := WaitListening(rig.B, 5201, 5*time.Second); err != nil {
		return err
	}
	if err := step("iperf3 TCP host-a → host-b", rig.A, "iperf3", "-c", topo.HostBAddr, "-t", fmt.Sprint(*seconds), "-f", "m"); err != nil {
		return fmt.Errorf("iperf3: %w", err)
	}
	srv.Wait()
	for _, c := range []string{"show interfaces", "show runtime", "show errors", "show neighbors", "show fib"} {
		fmt.Printf("\n== vecnetctl %s\n", c)
		if err := d.CLI.Exec(os.Stdout, c); err != nil {
			return err
		}
	}
	fmt.Println("\n== done; removing the namespaces")
	return nil
}

// DemoConfig is the router of the demo and the benchmarks: see
// topo.RouterConfig.
func DemoConfig(rig *topo.Rig, driver, xdpMode, socket string) *config.Config {
	return topo.RouterConfig(rig, driver, xdpMode, socket)
}

// WaitListening polls until a TCP listener on port exists in ns.
func WaitListening(ns topo.NS, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, _ := ns.Command("ss", "-Hltn", fmt.Sprintf("sport = :%d", port)).Output()
		if strings.TrimSpace(string(out)) != "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on port %d in %s after %v", port, ns.Name, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
