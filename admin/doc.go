// Package admin owns the admin API under /api/v1/admin: JSON handlers for
// apps (with their settings and domain claims), scripts, versions,
// routes and the route tools, invocations and admin users, their input
// validation, and authentication in front of them.
//
// Authentication: admin users log in with a password (kept as an
// Argon2id PHC string) and get a session token, sent back as a bearer
// token or as the UI's HttpOnly cookie; the database keeps only its
// SHA-256. Every endpoint needs a valid session except login and setup.
// The API is mounted on the admin host alone (see package ingress); the
// cookie is host-only, SameSite=Strict and, over HTTPS, __Host-; a
// cookie request that the browser says another origin made is refused,
// and so is one that changes state without a same-origin Origin.
// Failed logins are rate limited per username and per client address, in
// memory. The first admin comes from the environment or from a one-time
// setup link (Bootstrap).
//
// Handlers write through package models and then tell the control plane
// (a Deployer) what changed; they never talk to actors directly. Every
// handler has one shape (handlerFunc): it works under a ctx that handle
// bounds by the request timeout and returns its error, which fail alone
// maps to a status and logs with the request id and user.
package admin
