package daemon

import (
	"fmt"
	"log"

	"vecnet/control/config"
	"vecnet/driver"
)

// openKernelPorts opens ports on kernel interfaces (afxdp, afpacket, tap).
func openKernelPorts(ic config.Interface, workers int, logger *log.Logger) ([]driver.Port, string, [6]byte, error) {
	return nil, "", [6]byte{}, fmt.Errorf("driver %q is not built into this vecnet", ic.Driver)
}
