// Command xdsdump runs Istio's own control plane in-process (pilot/test/xds, the fake
// discovery server Istio's tests use) and writes, as JSON, the Envoy configuration that given
// proxies receive: route configurations, each listener's HTTP filter chains (and its TCP
// proxies: where a TCP service's connections go), and the endpoints (IP addresses) of every
// cluster; and, for the hosts a case names in "clusters", the outbound clusters (CDS) of those
// hosts (their DestinationRule's policy: circuit breakers, outlier detection, load balancer).
//
// Input (stdin): {"cases": [{"name", "config": Istio YAML, "kube": Kubernetes YAML,
// "proxies": [{"name", "type": "sidecar"|"router"|"waypoint", "namespace", "ip", "labels"}],
// "clusters": [HOST, ...] (optional)}]}.
// Output (stdout): {"cases": [{"name", "errors": [...], "proxies": {NAME: {"routes": [...],
// "listeners": [{"name", "direction", "chains": [{"name", "routeConfig",
// "httpFilters"} | {"name", "tcpProxy"}]}], "endpoints": {CLUSTER: [IP, ...]},
// "clusters": {CLUSTER: Envoy Cluster} (only `outbound|PORT|SUBSET|HOST` of the named hosts)}},
// "addresses": [...]}]}. Several designs go in one call so that the process starts once. A
// case that Istio rejects carries its errors and no proxies; the program itself fails only on
// unreadable input.
//
// Ambient: run with PILOT_ENABLE_AMBIENT=true in the environment (what istiod's ambient
// profile sets; Istio reads it when the program starts, so it is per run, not per case). Then
// the fake server runs Istio's ambient index, a proxy of type "waypoint" is a waypoint
// (model.Waypoint; its labels must name its Gateway, `gateway.networking.k8s.io/gateway-name`,
// and its IP be a pod of the waypoint's Service, as Istio's own waypoint tests set it up), and
// each case also carries "addresses": what ztunnel receives (WDS: every workapi Service and
// Workload of the ambient index, protojson). A waypoint serves its Services on inline route
// configurations (the `main_internal` listener's `inbound-vip|PORT|http|HOST` chains): those
// are added to its "routes" under their names, and the chain's "routeConfig" names them.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"istio.io/istio/pilot/pkg/features"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/log"
	"istio.io/istio/pkg/util/sets"
)

type proxyIn struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Namespace string            `json:"namespace"`
	IP        string            `json:"ip"`
	Labels    map[string]string `json:"labels"`
}

type caseIn struct {
	Name    string    `json:"name"`
	Config  string    `json:"config"`
	Kube    string    `json:"kube"`
	Proxies []proxyIn `json:"proxies"`
	// the hosts whose outbound clusters are dumped; none by default, to keep the output small
	Clusters []string `json:"clusters"`
}

type chainOut struct {
	Name        string            `json:"name"`
	RouteConfig string            `json:"routeConfig,omitempty"`
	HTTPFilters []json.RawMessage `json:"httpFilters,omitempty"`
	TCPProxy    json.RawMessage   `json:"tcpProxy,omitempty"`
}

type listenerOut struct {
	Name      string     `json:"name"`
	Direction string     `json:"direction"`
	Chains    []chainOut `json:"chains"`
}

type proxyOut struct {
	Routes    []json.RawMessage          `json:"routes"`
	Listeners []listenerOut              `json:"listeners"`
	Endpoints map[string][]string        `json:"endpoints"`
	Clusters  map[string]json.RawMessage `json:"clusters,omitempty"`
}

type caseOut struct {
	Name    string              `json:"name"`
	Errors  []string            `json:"errors"`
	Proxies map[string]proxyOut `json:"proxies"`
	// what ztunnel receives (WDS), only with ambient enabled
	Addresses []json.RawMessage `json:"addresses,omitempty"`
}

// failer is the test.Failer (and, through xdstest, testing.TB) the fake server reports to:
// errors are collected, and a fatal one ends the case's goroutine as testing.T would.
type failer struct {
	testing.TB // never called: only satisfies testing.TB's unexported method
	mu         sync.Mutex
	errors     []string
	cleanups   []func()
}

func (f *failer) Errorf(format string, args ...any) { f.record(fmt.Sprintf(format, args...)) }
func (f *failer) Error(args ...any)                 { f.record(fmt.Sprint(args...)) }
func (f *failer) Fail()                             { f.record("failed") }
func (f *failer) FailNow()                          { f.Fatal("failed") }
func (f *failer) Fatal(args ...any)                 { f.record(fmt.Sprint(args...)); runtime.Goexit() }
func (f *failer) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }
func (f *failer) Skip(args ...any)                  { f.Fatal(args...) }
func (f *failer) Log(...any)                        {}
func (f *failer) Logf(string, ...any)               {}
func (f *failer) Helper()                           {}
func (f *failer) Failed() bool                      { f.mu.Lock(); defer f.mu.Unlock(); return len(f.errors) > 0 }
func (f *failer) TempDir() string {
	dir, err := os.MkdirTemp("", "xdsdump")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (f *failer) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *failer) record(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, msg)
}

func (f *failer) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

var marshal = protojson.MarshalOptions{UseProtoNames: true}

func raw(f *failer, m proto.Message) json.RawMessage {
	out, err := marshal.Marshal(m)
	if err != nil {
		f.Fatalf("protojson: %v", err)
	}
	return out
}

// dumpListeners reads the listeners' filter chains. With an inline map (a waypoint) a chain's
// inline route configuration is named in its "routeConfig" and returned, by name, to be added
// to the proxy's routes; a sidecar's inline (inbound) ones are left out as before.
func dumpListeners(f *failer, listeners []*listener.Listener, inline map[string]*route.RouteConfiguration) []listenerOut {
	out := make([]listenerOut, 0, len(listeners))
	for _, l := range listeners {
		lo := listenerOut{Name: l.Name, Direction: l.TrafficDirection.String()}
		chains := append([]*listener.FilterChain{}, l.FilterChains...)
		if l.DefaultFilterChain != nil {
			chains = append(chains, l.DefaultFilterChain)
		}
		for _, fc := range chains {
			for _, filter := range fc.Filters {
				if filter.GetTypedConfig() == nil {
					continue
				}
				manager := &hcm.HttpConnectionManager{}
				if filter.GetTypedConfig().UnmarshalTo(manager) != nil {
					proxy := &tcp.TcpProxy{}
					if filter.GetTypedConfig().UnmarshalTo(proxy) == nil {
						lo.Chains = append(lo.Chains, chainOut{Name: fc.Name, TCPProxy: raw(f, proxy)})
					}
					continue // neither (RBAC, metadata exchange, ...): not where traffic goes
				}
				co := chainOut{Name: fc.Name, RouteConfig: manager.GetRds().GetRouteConfigName()}
				if rc := manager.GetRouteConfig(); rc != nil && inline != nil {
					if seen, ok := inline[rc.Name]; ok && !proto.Equal(seen, rc) {
						f.Errorf("two different inline route configurations named %q", rc.Name)
					}
					inline[rc.Name] = rc
					co.RouteConfig = rc.Name
				}
				for _, hf := range manager.HttpFilters {
					co.HTTPFilters = append(co.HTTPFilters, raw(f, hf))
				}
				lo.Chains = append(lo.Chains, co)
			}
		}
		out = append(out, lo)
	}
	return out
}

// dumpClusters keeps the outbound clusters (`outbound|PORT|SUBSET|HOST`) of the given hosts.
func dumpClusters(f *failer, clusters []*cluster.Cluster, hosts []string) map[string]json.RawMessage {
	wanted := map[string]bool{}
	for _, h := range hosts {
		wanted[h] = true
	}
	out := map[string]json.RawMessage{}
	for _, c := range clusters {
		parts := strings.Split(c.Name, "|")
		if len(parts) == 4 && parts[0] == "outbound" && wanted[parts[3]] {
			out[c.Name] = raw(f, c)
		}
	}
	return out
}

func proxyFor(in proxyIn) *model.Proxy {
	p := &model.Proxy{
		ID:              in.Name + "." + in.Namespace,
		IPAddresses:     []string{in.IP},
		ConfigNamespace: in.Namespace,
		Labels:          in.Labels,
		Metadata:        &model.NodeMetadata{Labels: in.Labels, Namespace: in.Namespace},
		Type:            model.SidecarProxy,
	}
	switch in.Type {
	case "router":
		p.Type = model.Router
	case "waypoint":
		p.Type = model.Waypoint
	}
	return p
}

func run(in caseIn) (out caseOut) {
	out = caseOut{Name: in.Name, Errors: []string{}, Proxies: map[string]proxyOut{}}
	f := &failer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.cleanup()
		s := xds.NewFakeDiscoveryServer(f, xds.FakeOptions{
			ConfigString: in.Config, KubernetesObjectString: in.Kube,
		})
		for _, pin := range in.Proxies {
			if pin.Type == "waypoint" && !features.EnableAmbient {
				f.Fatalf("proxy %s: a waypoint needs PILOT_ENABLE_AMBIENT=true", pin.Name)
			}
			p := s.SetupProxy(proxyFor(pin))
			listeners := s.Listeners(p)
			routes := s.RoutesFromListeners(p, listeners)
			var inline map[string]*route.RouteConfiguration
			if pin.Type == "waypoint" {
				inline = map[string]*route.RouteConfiguration{}
			}
			po := proxyOut{Listeners: dumpListeners(f, listeners, inline), Endpoints: map[string][]string{}}
			// Istio's checks of RDS route configurations (the ones its tests run)
			xdstest.ValidateRouteConfigurations(f, routes)
			// a waypoint's inline ones (no direct-response size, which only RDS sets):
			// Envoy's own field rules, and unique names
			for _, rc := range inline {
				if err := rc.Validate(); err != nil {
					f.Errorf("route configuration %v is invalid: %v", rc.Name, err)
				}
				for _, r := range routes {
					if r.Name == rc.Name {
						f.Errorf("route configuration %v is both inline and RDS", rc.Name)
					}
				}
				routes = append(routes, rc)
			}
			// Istio's own checks of the listeners (the ones its tests run)
			// (internal listeners - a waypoint's main_internal, connect_originate - have no
			// address, which ValidateListeners cannot read; Istio's waypoint tests skip it)
			addressed := []*listener.Listener{}
			for _, l := range listeners {
				if l.GetAddress() != nil {
					addressed = append(addressed, l)
				}
			}
			xdstest.ValidateListeners(f, addressed)
			sort.Slice(routes, func(i, j int) bool { return routes[i].Name < routes[j].Name })
			for _, r := range routes {
				po.Routes = append(po.Routes, raw(f, r))
			}
			for _, cla := range s.Endpoints(p) {
				ips := []string{}
				for _, addr := range xdstest.ExtractEndpoints(cla) {
					ips = append(ips, addr)
				}
				po.Endpoints[cla.ClusterName] = ips
			}
			if len(in.Clusters) > 0 {
				clusters := s.Clusters(p)
				xdstest.ValidateClusters(f, clusters)
				po.Clusters = dumpClusters(f, clusters, in.Clusters)
			}
			out.Proxies[pin.Name] = po
		}
		if features.EnableAmbient {
			infos, _ := s.Discovery.Env.AmbientIndexes.AddressInformation(sets.New[string]())
			for _, info := range infos {
				out.Addresses = append(out.Addresses, raw(f, info.Address))
			}
			sort.Slice(out.Addresses, func(i, j int) bool {
				return string(out.Addresses[i]) < string(out.Addresses[j])
			})
		}
	}()
	<-done
	out.Errors = append(out.Errors, f.errors...)
	if len(out.Errors) > 0 {
		out.Proxies = map[string]proxyOut{}
	}
	return out
}

func main() {
	for _, scope := range log.Scopes() {
		scope.SetOutputLevel(log.NoneLevel) // the control plane's logs are not the result
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xdsdump: reading stdin:", err)
		os.Exit(2)
	}
	var input struct {
		Cases []caseIn `json:"cases"`
	}
	if err := json.Unmarshal(data, &input); err != nil {
		fmt.Fprintln(os.Stderr, "xdsdump: input is not the expected JSON:", err)
		os.Exit(2)
	}
	output := struct {
		Cases []caseOut `json:"cases"`
	}{Cases: []caseOut{}}
	for _, c := range input.Cases {
		output.Cases = append(output.Cases, run(c))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(output); err != nil {
		fmt.Fprintln(os.Stderr, "xdsdump: writing:", err)
		os.Exit(1)
	}
}
