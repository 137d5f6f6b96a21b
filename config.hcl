# PiCloud configuration — every key below is set to its default, so this file
# changes nothing; copy it and edit what you need, or run with no file at all.
#
#   picloud serve --config config.hcl
#
# Durations are Go duration strings: "250ms", "5s", "1m30s", "2h".
# Sizes are whole bytes (65536) or a whole number with a binary unit:
# "512B", "64KiB", "1MiB", "2GiB" (1KiB = 1024 bytes; "KB"/"MB" are refused
# as ambiguous).
#
# Environment variables override the file (an empty value counts as unset):
#   PICLOUD_LISTEN           server.listen
#   PICLOUD_PUBLIC_BASE_URL  server.public_base_url
#   PICLOUD_BASE_DOMAIN      server.base_domain
#   PICLOUD_ADMIN_HOST       server.admin_host
#   PICLOUD_METRICS_LISTEN   server.metrics_listen
#   PICLOUD_PUBLIC_ERRORS    server.public_errors
#   PICLOUD_TRUSTED_PROXIES  server.trusted_proxies (comma-separated)
#   PICLOUD_MAX_CONNECTIONS  server.max_connections
#   PICLOUD_MAX_CONNECTIONS_PER_IP  server.max_connections_per_ip
#   PICLOUD_DATA_DIR         data_dir
#   PICLOUD_DATABASE_URL     database.url
#   PICLOUD_LOG_LEVEL        log.level
#   PICLOUD_CLUSTER_*, PICLOUD_NODE_NAME: see the cluster block below
#
# Not config keys: PICLOUD_ADMIN_USERNAME and PICLOUD_ADMIN_PASSWORD create
# the first admin user at start while none exists (ignored afterwards).

server {
  # Address the HTTP server binds, host:port. An empty host (":8080") means
  # every interface.
  listen = "127.0.0.1:8080"

  # URL users reach this server at, shown in the UI, /version and setup
  # links. "" means http://<listen> (an empty or 0.0.0.0 host shown as
  # localhost). Set it when running behind a proxy or on a real domain.
  public_base_url = ""

  # Every app also answers on <slug>.<base_domain>, e.g. shop.localhost
  # (browsers resolve *.localhost to this machine). A renamed app's old
  # slug redirects (308) to the new one until another app takes it. Domain
  # claims on <label>.<base_domain> are refused: those hosts are the apps'.
  base_domain = "localhost"

  # Slug of the app that answers requests for hosts no app claims (an app
  # renamed away from it keeps answering until another app takes it).
  # "" answers them 404 instead.
  default_app = "hello"

  # The one host the admin UI (/admin/) and the admin API (/api/v1/admin/,
  # /api/v1/execute/) answer on, on the same listener as the apps. No app
  # ever answers it and no script response is ever served from it, so a
  # script's page can neither read nor act with the admin's session; on
  # every other host those paths answer 404. "" means admin.<base_domain>,
  # e.g. http://admin.localhost:8080/admin/ (browsers and curl resolve
  # *.localhost to this machine); the app slug "admin" is then reserved.
  # A host name or an IP address, no port. Behind a reverse proxy, forward
  # the Host header unchanged.
  admin_host = ""

  # host:port of a separate listener serving Prometheus metrics at
  # /metrics, with no login: keep it on a private address, e.g.
  # "127.0.0.1:9464". "" serves no metrics; the main listener never does.
  metrics_listen = ""

  # A script call that fails (a panic, a crash, a timeout) answers public
  # callers with its status, error code and request id only; the details
  # (panic text and line, crash reason, script id and version) go to the
  # invocation log, and admin calls (execute by id, the console) see them.
  # true shows them to everyone: for development only.
  public_errors = false

  # Largest request body accepted; bigger requests get 413.
  max_request_body = "1MiB"

  # Time allowed to read one request (headers and body).
  read_timeout = "30s"

  # Time allowed to write one response.
  write_timeout = "30s"

  # How long an idle keep-alive connection stays open.
  idle_timeout = "2m"

  # On SIGTERM/SIGINT, how long to wait for in-flight requests before
  # closing their connections.
  shutdown_timeout = "10s"

  # Time one admin API request may take, its database calls included;
  # past it the request is answered 503 "timeout" (a stuck database never
  # holds a request for good).
  admin_request_timeout = "30s"

  # HTTP connections open at once (idle keep-alive ones included); past it
  # a new connection is answered 503 "connection_limit" and closed, and
  # the server carries on. "auto" keeps a quarter of the open-file limit
  # (at least 64 files) for the database, workers and logs and allows the
  # rest, up to 16384. At start PiCloud raises its open-file limit
  # (RLIMIT_NOFILE) to the hard limit and logs the result; a number above
  # what the limit leaves is warned about. From 1 to 1048576.
  max_connections = "auto"

  # Connections one client may hold at once: an IPv4 address, or an IPv6
  # /64 (what one host is usually given). Past it a new connection is
  # answered 429 "client_connection_limit" and closed. Behind a reverse
  # proxy every connection comes from the proxy: raise this to
  # max_connections there. From 1 to 1048576.
  max_connections_per_ip = 256

  # Memory that large response bodies (over 64KiB) may hold while their
  # clients read them: a slow reader keeps its response in memory until it
  # has read it or write_timeout ends the write. Past it a script's large
  # response is answered 503 "server_busy" with Retry-After (smaller ones
  # still go out); a response bigger than this goes out when no other is
  # held. From 1MiB to 1TiB.
  max_response_memory = "256MiB"

  # Reverse proxies (CIDR prefixes or addresses) whose X-Forwarded-For is
  # believed: a request from one of them is from the rightmost address of
  # that header that is not a trusted proxy. Login rate limits count that
  # address, and the connection caps' logs say when a refused peer is a
  # trusted proxy (the caps themselves count TCP peers). Empty (the
  # default): every client is its TCP peer and the header is ignored.
  # Example: ["127.0.0.1", "10.0.0.0/8"]. Env: comma-separated.
  trusted_proxies = []

  # Outbound HTTP of scripts (picloud.Fetch). Fetches to loopback, private,
  # link-local, metadata (169.254.169.254, fd00:ec2::254, ...), multicast
  # and unspecified addresses are refused, checked on the address actually
  # dialed, after DNS and on every redirect. true allows loopback and
  # private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) on
  # purpose, e.g. to reach services on your own network; link-local and
  # metadata addresses stay refused. Apps narrow it further with the
  # fetch_allow and fetch_deny lists in their settings.
  fetch_allow_private = false

  # Longest one fetch may take (and its default); the script's own time
  # budget may end it sooner.
  fetch_timeout = "10s"

  # Largest response body a fetch reads; a bigger one is an error.
  fetch_max_response_body = "10MiB"

  # Fetches one app's scripts may have in flight at once on this server;
  # more wait (within their time budget).
  fetch_max_concurrency = 16
}

# Directory for local state: the embedded SQLite database and anything else
# PiCloud keeps on disk. Relative paths are relative to the working
# directory.
data_dir = "./data"

database {
  # "" uses the embedded SQLite file <data_dir>/picloud.db (nothing to set up).
  # "sqlite:///abs/path/picloud.db" or "sqlite://rel/path/picloud.db" uses a
  # SQLite file elsewhere. "postgres://user:password@host:5432/picloud?sslmode=disable"
  # (or postgresql://) uses PostgreSQL, required for a cluster.
  url = ""
}

# Defaults for running scripts. Apps (PATCH /api/v1/admin/apps/{app}
# "settings") override timeout, max_concurrency and max_response_body;
# scripts (PATCH /api/v1/admin/scripts/{id} "settings") override timeout,
# max_concurrency, max_output and max_response_body, over their app's.
executor {
  # Where scripts run: "process" runs each app's scripts in a supervised
  # worker process (`picloud worker`), so a script that crashes the Go
  # runtime (unbounded recursion, an allocation bomb) takes down only its
  # app's worker: its callers get 502 and the worker is restarted. "none"
  # runs scripts inside the server process: faster, for trusted
  # single-tenant set-ups and benchmarks only.
  isolation = "process"

  # Time budget of one invocation; past it the caller gets 504.
  timeout = "5s"

  # Invocations of one script version that may run at once.
  max_concurrency = 8

  # Invocations that may wait for a busy script before new ones get 503
  # with Retry-After. At least 1.
  queue_limit = 256

  # How long an invocation may wait for a busy script before it gets 503
  # with Retry-After.
  queue_timeout = "1s"

  # An executor idle this long is stopped; an unused script costs nothing.
  idle_timeout = "5m"

  # Output (fmt.Print*, picloud.Log) kept per invocation; the rest is
  # dropped with a "[truncated]" marker.
  max_output = "64KiB"

  # Largest response (body and headers) a script may return; a bigger one
  # is answered 500 with error code "response_too_large".
  max_response_body = "6MiB"

  # Restart intensity: a script version whose executors crash (a panic or
  # a time budget overrun) more than crash_limit times within crash_window
  # is parked: answered 503 "script_parked" with Retry-After, running
  # nothing, until the window has passed or a new version is deployed. A
  # script that kills its worker process is parked after 3 such crashes
  # within crash_window, whatever crash_limit says.
  crash_limit = 5

  crash_window = "1m"
  # Memory one worker process (all scripts of one app) may use; past it the
  # worker ends, its callers get 502, and the server carries on.
  # From 32MiB to 1TiB.
  memory_limit = "256MiB"

  # Cores one worker process (all scripts of one app) may use at once. 1
  # keeps one busy app from taking the whole machine and makes the hop to
  # the worker cheaper; raise it for apps whose scripts need more. With
  # isolation = "process" the server itself then uses the other cores
  # (GOMAXPROCS = cores - worker_procs, when that is at least 1 and the
  # GOMAXPROCS variable is unset): on a small machine its extra threads
  # would only take the worker's core (docs/benchmarks.md).
  worker_procs = 1

  # A worker killed by a script is started again at once (the script is
  # parked after 3 such crashes). One that dies with no script to blame (it
  # cannot start) is started again no sooner than restart_backoff; the wait
  # doubles with each such failure in a row, up to restart_backoff_max. A
  # worker that holds no script (its executors went idle) stops after a few
  # seconds.
  restart_backoff = "100ms"
  restart_backoff_max = "30s"

  # Every script upload is checked before it is stored: parsed, compiled
  # and its package-level variables initialised, in a short-lived checker
  # process under memory_limit, never in the server. max_source caps a
  # script's source (from 1KiB to 16MiB; a bigger upload gets 413, and the
  # upload's JSON must also fit server.max_request_body); a check that
  # takes longer than check_timeout is refused with 422; max_checks checks
  # run at once, further uploads wait for one to end (503 past
  # check_timeout).
  max_source = "256KiB"
  check_timeout = "10s"
  max_checks = 2
}

invocations {
  # How many of the newest invocation records (status, timing, output) are
  # kept; older ones are deleted. At least 1.
  retain = 100000

  # How many invocations are recorded per second at most. Under heavier
  # load the rest are counted in /metrics (picloud_invocations_unrecorded_total)
  # but not stored, so logging never competes with serving. At least 1.
  max_per_second = 1000
}

# Key-value storage of apps (picloud.KV). Keys are up to 512 bytes and
# values up to 1MiB. An app's quota counts its live keys and the bytes of
# their keys and values; a write past it is refused with a clear error.
# Apps override it (PATCH /api/v1/admin/apps/{app} "settings":
# kv_max_keys, kv_max_bytes).
kv {
  max_keys = 10000
  max_bytes = "64MiB"
}

log {
  # Least severe level logged: "debug", "info", "warn" or "error".
  level = "info"

  # "text" for people, "json" for log collectors.
  format = "text"
}

# Cluster mode: several `picloud serve` processes, on several machines, join
# each other by gossip and serve as one PiCloud on the PostgreSQL database
# they share (see docs/cluster.md). Off by default: one process is a whole
# PiCloud.
#
# Environment overrides (lists comma-separated):
#   PICLOUD_CLUSTER_ENABLED    cluster.enabled
#   PICLOUD_CLUSTER_GOSSIP     cluster.gossip
#   PICLOUD_CLUSTER_REMOTE     cluster.remote
#   PICLOUD_CLUSTER_ADVERTISE  cluster.advertise
#   PICLOUD_CLUSTER_JOIN       cluster.join       e.g. "10.0.0.5:7946,10.0.0.6:7946"
#   PICLOUD_NODE_NAME          cluster.node_name
#   PICLOUD_CLUSTER_ROLES      cluster.roles      e.g. "ingress,executor"
cluster {
  # true joins the cluster. Setting PICLOUD_CLUSTER_GOSSIP or
  # PICLOUD_CLUSTER_JOIN turns it on as well (unless PICLOUD_CLUSTER_ENABLED
  # says false). Needs database.url to be PostgreSQL: a node on SQLite
  # refuses to start.
  enabled = false

  # Address memberlist binds for membership and failure detection, UDP and
  # TCP, host:port. The host is an IP address; 0.0.0.0 means every
  # interface. Keep it on a private network: gossip is not encrypted.
  gossip = "0.0.0.0:7946"

  # Address protoactor remote binds for calls between nodes (TCP),
  # host:port, as for gossip; it must differ from gossip's port.
  remote = "0.0.0.0:7947"

  # Host (IP address or name) the other nodes reach this one at, on the
  # gossip and remote ports. "" means the bind host, or this machine's first
  # private address when bound to 0.0.0.0. Set it behind NAT or when the
  # machine has several private addresses.
  advertise = ""

  # Gossip addresses of existing members, host:port (a host alone means
  # port 7946). Naming any one live member is enough; the first node names
  # none. A node whose members all fail to answer starts alone after a few
  # seconds, says so in its log, and keeps trying to join in the background.
  join = []

  # This node's name, unique in the cluster: letters, digits, '.', '-' and
  # '_'. "" means the host name and the gossip port, e.g. "pi1-7946". A
  # restarted node rejoins under its name; a second live node with the same
  # name is refused at start.
  node_name = ""

  # What this node does, any of (at least one, each once):
  #   "manager"  takes admin writes, fires schedules, purges, creates the
  #              first admin; a node without it forwards admin writes to
  #              a live manager (503 no_manager when there is none)
  #   "ingress"  serves public HTTP (app hosts, /api/v1/execute); a node
  #              without it answers those 421 no_ingress_role
  #   "executor" runs scripts for the whole cluster; a node without it
  #              runs every call on an executor member (503 no_executor
  #              when none is alive)
  # Every node serves /healthz, /readyz and admin reads. Outside cluster
  # mode a server has all three. See docs/cluster.md, "Roles".
  roles = ["manager", "ingress", "executor"]
}
