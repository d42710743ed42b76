// libcni-driver: drives a CNI plugin chain through the upstream runtime library (libcni, as containerd and
// CRI-O use it), so skiff's plugins can be checked against the library real runtimes are built on.
//
//	libcni-driver add|check|del|validate -conf FILE -netns PATH -id ID [-ifname eth0] -path DIR[:DIR] -cache DIR
//	                [-cap JSON] [-args K=V;K=V]
//
// add prints the chain's final result (the runtime's view, e.g. the pod IP) as JSON on stdout; any error is
// printed on stderr and exits 1. Built offline from Debian's golang-github-appc-cni-dev by the tests.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: libcni-driver add|check|del|validate [flags]"))
	}
	verb := os.Args[1]
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	conf := fs.String("conf", "", "conflist file")
	netns := fs.String("netns", "", "netns path")
	id := fs.String("id", "", "container ID")
	ifname := fs.String("ifname", "eth0", "interface name")
	path := fs.String("path", "", "CNI_PATH")
	cache := fs.String("cache", "", "result cache dir")
	capJSON := fs.String("cap", "", "capability args JSON")
	cniArgs := fs.String("args", "", "CNI_ARGS K=V;K=V")
	_ = fs.Parse(os.Args[2:])

	list, err := libcni.ConfListFromFile(*conf)
	if err != nil {
		fail(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(*path, ":"), *cache, nil)
	rt := &libcni.RuntimeConf{ContainerID: *id, NetNS: *netns, IfName: *ifname}
	if *capJSON != "" {
		if err := json.Unmarshal([]byte(*capJSON), &rt.CapabilityArgs); err != nil {
			fail(fmt.Errorf("-cap: %w", err))
		}
	}
	for _, kv := range strings.Split(*cniArgs, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			rt.Args = append(rt.Args, [2]string{k, v})
		}
	}
	ctx := context.Background()
	switch verb {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		printResult(res)
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		_ = json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"capabilities": caps})
	default:
		fail(fmt.Errorf("unknown verb %q", verb))
	}
}

// printResult prints the result converted to 1.0.0, as a runtime would read the pod's addresses from it.
func printResult(res types.Result) {
	r, err := current.NewResultFromResult(res)
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
