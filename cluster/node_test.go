package cluster

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/config"
)

// Bound to every interface, or told to advertise, the remote announces
// the gossip's advertised host; bound to one address, it announces that.
func TestRemoteConfigAnnouncesTheAdvertisedHost(t *testing.T) {
	tests := []struct {
		host       string
		port       int
		adv        string
		advertised bool
		want       string
	}{
		{"0.0.0.0", 7947, "10.0.0.5", false, "10.0.0.5:7947"},
		{"::", 7947, "fd00::5", false, "[fd00::5]:7947"},
		{"127.0.0.1", 7947, "127.0.0.1", false, ""},
		{"127.0.0.1", 0, "127.0.0.1", false, ""},
		{"10.0.0.5", 7947, "203.0.113.9", true, "203.0.113.9:7947"},
	}
	for _, tc := range tests {
		rc, err := remoteConfig(tc.host, tc.port, tc.adv, tc.advertised, 1<<20, 64)
		if err != nil {
			t.Fatal(err)
		}
		if rc.AdvertisedHost != tc.want || rc.Host != tc.host || rc.Port != tc.port {
			t.Errorf("remoteConfig(%s, %d, %s, %v): host %s port %d advertised %q, want %q", tc.host, tc.port, tc.adv, tc.advertised, rc.Host, rc.Port, rc.AdvertisedHost, tc.want)
		}
		if rc.EndpointWriterQueueSize != 64 {
			t.Errorf("queue %d", rc.EndpointWriterQueueSize)
		}
	}
	// Port 0 with an announced address: a port is picked up front, as
	// the announcement must carry it.
	rc, err := remoteConfig("127.0.0.1", 0, "127.0.0.1", true, 1<<20, 64)
	if err != nil || rc.Port == 0 || !strings.HasSuffix(rc.AdvertisedHost, ":"+itoa(rc.Port)) {
		t.Errorf("port 0, advertised: %+v, %v", rc, err)
	}
}

func TestDefaultNodeNameIsAValidName(t *testing.T) {
	name := defaultNodeName(7946)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,50}-7946$`).MatchString(name) {
		t.Errorf("defaultNodeName = %q", name)
	}
}

func TestJoinAddrsGetTheDefaultPort(t *testing.T) {
	got := joinAddrs([]string{"10.0.0.5", "10.0.0.6:8000", "pi3.lan", "fd00::1", "[fd00::2]:9"})
	want := []string{"10.0.0.5:7946", "10.0.0.6:8000", "pi3.lan:7946", "[fd00::1]:7946", "[fd00::2]:9"}
	if !slices.Equal(got, want) {
		t.Errorf("joinAddrs = %q, want %q", got, want)
	}
}

func TestCheckKinds(t *testing.T) {
	p := actor.PropsFromFunc(func(actor.Context) {})
	tests := []struct {
		kinds []Kind
		want  string
	}{
		{[]Kind{{Name: "executor", Props: p, Role: "executor"}, {Name: "other", Props: p}}, ""},
		{[]Kind{{Name: "a/b", Props: p}}, `cluster kind "a/b": a name without '/' is needed`},
		{[]Kind{{Name: "", Props: p}}, `cluster kind "": a name without '/' is needed`},
		{[]Kind{{Name: "x", Props: p}, {Name: "x", Props: p}}, `cluster kind "x" given twice`},
		{[]Kind{{Name: "x"}}, `cluster kind "x" has no props`},
		{[]Kind{{Name: "x", Props: p, Role: "worker"}}, `cluster kind "x": unknown role "worker"`},
	}
	for _, tc := range tests {
		err := checkKinds(tc.kinds)
		if got := errString(err); got != tc.want {
			t.Errorf("checkKinds(%v) = %q, want %q", tc.kinds, got, tc.want)
		}
	}
}

func TestMetaRoundTrips(t *testing.T) {
	m := nodeMeta{ID: "abc", Host: "10.0.0.5", Port: 7947, Kinds: []string{"executor"}, Roles: []string{"executor", "ingress"}, Leaving: true}
	got, err := decodeMeta(m.encode())
	if err != nil || got.ID != m.ID || got.remote() != "10.0.0.5:7947" || !got.Leaving || !got.hosts("executor", "ingress") || got.hosts("executor", "manager") {
		t.Errorf("decode(encode(%+v)) = %+v, %v", m, got, err)
	}
	for _, bad := range []string{"", "{}", `{"id":"x","host":"h","port":0}`, "not json"} {
		if _, err := decodeMeta([]byte(bad)); err == nil {
			t.Errorf("decodeMeta(%q) accepted", bad)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNodeNameOutsideClusterMode(t *testing.T) {
	tests := []struct {
		cfg  config.Cluster
		want string // a regexp
	}{
		{config.Cluster{NodeName: "pi1", Gossip: "0.0.0.0:7946"}, `^pi1$`},
		{config.Cluster{Gossip: "0.0.0.0:8001"}, `^[A-Za-z0-9_-]{1,50}-8001$`},
		{config.Cluster{Gossip: ""}, `^[A-Za-z0-9_-]{1,50}-7946$`},
	}
	for _, tt := range tests {
		if got := NodeName(tt.cfg); !regexp.MustCompile(tt.want).MatchString(got) {
			t.Errorf("NodeName(%+v) = %q, want %s", tt.cfg, got, tt.want)
		}
	}
}
