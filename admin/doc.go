// Package admin owns the admin API under /api/v1/admin: JSON handlers for
// apps (with their settings and domain claims), scripts, versions,
// routes and the route tools, invocations, their input validation, and
// the access rule in front of them.
//
// Handlers write through package models and then tell the control plane
// (a Deployer) what changed; they never talk to actors directly.
package admin
