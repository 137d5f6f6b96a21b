package server

import (
	"bytes"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/config"
)

// This file holds what a cluster node's roles (cluster.roles) change
// here, beside the placement of executors on executor members
// (cluster.go):
//   - without the ingress role a node runs no script for a caller: app
//     hosts and /api/v1/execute are answered 421 no_ingress_role;
//   - without the manager role it forwards admin writes to a live
//     manager member and runs none of the manager's jobs (schedules,
//     purges, the first admin).
// Outside cluster mode a server has every role.

// HeaderForwardedBy marks an admin write a node without the manager role
// forwarded to a manager, with the forwarding node's name. A node that
// is sent a forwarded write it cannot serve answers 421 rather than
// forward it again.
const HeaderForwardedBy = "X-Picloud-Forwarded-By"

// forwardTimeout bounds a forwarded write beyond the admin request
// timeout the manager applies to it.
const forwardTimeout = 5 * time.Second

// hasRole reports whether this server has role: outside cluster mode,
// every role.
func (s *Server) hasRole(role string) bool {
	return !s.cfg.Cluster.Enabled || s.cfg.Cluster.HasRole(role)
}

// noScripts is ingress.Options.NoScripts: why this node serves no script
// traffic, "" when it has the ingress role.
func (s *Server) noScripts() string {
	if s.hasRole(config.RoleIngress) {
		return ""
	}
	return "node " + strconv.Quote(s.NodeName()) + " has no ingress role (cluster.roles): send script traffic to an ingress node"
}

// adminHandler serves the admin API: on a manager, itself; elsewhere
// reads here and writes forwarded to a manager.
func (s *Server) adminHandler() fasthttp.RequestHandler {
	if s.hasRole(config.RoleManager) {
		return s.api.Handler
	}
	f := &writeForwarder{
		local: s.api.Handler,
		node:  s.node,
		self:  s.NodeName(),
		client: &fasthttp.Client{
			Name:                          "picloud-forward",
			ReadTimeout:                   s.cfg.Server.AdminRequestTimeout + forwardTimeout,
			WriteTimeout:                  forwardTimeout,
			MaxResponseBodySize:           int(s.cfg.Server.MaxRequestBody) + 1<<20,
			DisableHeaderNamesNormalizing: true,
			DisablePathNormalizing:        true,
			NoDefaultUserAgentHeader:      true,
		},
	}
	return f.serve
}

// writeForwarder sends the admin writes made to a node without the
// manager role to a live manager member over HTTP, at the address the
// manager announces in its member metadata, and relays the answer. The
// request keeps its Host, cookies and Authorization: the manager checks
// the session (the sessions table is shared) and the origin as if it had
// been sent the request itself.
type writeForwarder struct {
	local  fasthttp.RequestHandler
	node   *cluster.Node
	self   string
	client *fasthttp.Client
}

func (f *writeForwarder) serve(rc *fasthttp.RequestCtx) {
	if !isAdminWrite(rc) {
		f.local(rc)
		return
	}
	if by := rc.Request.Header.Peek(HeaderForwardedBy); len(by) > 0 {
		apierror.Writef(rc, fasthttp.StatusMisdirectedRequest, "not_manager",
			"node "+strconv.Quote(f.self)+" has no manager role, and "+strconv.Quote(string(by))+" took it for one: their member tables disagree; try again")
		return
	}
	name, addr := f.manager()
	if addr == "" {
		rc.Response.Header.Set("Retry-After", "1")
		apierror.Writef(rc, fasthttp.StatusServiceUnavailable, "no_manager",
			"node "+strconv.Quote(f.self)+" has no manager role and no live member has it: admin writes need a node whose cluster.roles include \"manager\"")
		return
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	rc.Request.CopyTo(req)
	req.UseHostHeader = true // the manager serves the admin host as asked
	req.URI().SetScheme("http")
	req.URI().SetHost(addr)
	req.Header.Set(HeaderForwardedBy, f.self)
	req.Header.Set(fasthttp.HeaderXForwardedFor, rc.RemoteIP().String())
	if err := f.client.Do(req, &rc.Response); err != nil {
		rc.Response.Reset()
		rc.Response.Header.Set("Retry-After", "1")
		apierror.Writef(rc, fasthttp.StatusBadGateway, "manager_unreachable",
			"node "+strconv.Quote(f.self)+" has no manager role; forwarding the write to manager "+strconv.Quote(name)+" at "+addr+" failed: "+err.Error())
	}
}

// manager is a live manager member that announced its HTTP address: the
// first by name, so that every node sends writes to the same one.
func (f *writeForwarder) manager() (name, addr string) {
	if f.node == nil {
		return "", ""
	}
	for _, m := range f.node.Members() {
		if m.Status == cluster.StatusAlive && !m.Self && m.HTTP != "" && slices.Contains(m.Roles, config.RoleManager) {
			return m.Name, m.HTTP
		}
	}
	return "", ""
}

// isAdminWrite reports whether rc is a write of the admin API: any
// method but GET, HEAD and OPTIONS, except logging in and out, which any
// node serves (sessions live in the shared database).
func isAdminWrite(rc *fasthttp.RequestCtx) bool {
	if rc.IsGet() || rc.IsHead() || rc.IsOptions() {
		return false
	}
	path := rc.Path()
	return !bytes.Equal(path, []byte(admin.Prefix+"/auth/login")) && !bytes.Equal(path, []byte(admin.Prefix+"/auth/logout"))
}
