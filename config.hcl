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
#   PICLOUD_DATA_DIR         data_dir
#   PICLOUD_DATABASE_URL     database.url
#   PICLOUD_LOG_LEVEL        log.level
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
  # nothing, until the window has passed or a new version is deployed.
  crash_limit = 5

  crash_window = "1m"
  # Memory one worker process (all scripts of one app) may use; past it the
  # worker ends, its callers get 502, and the server carries on.
  # From 32MiB to 1TiB.
  memory_limit = "256MiB"

  # Cores one worker process (all scripts of one app) may use at once. 1
  # keeps one busy app from taking the whole machine and makes the hop to
  # the worker cheaper; raise it for apps whose scripts need more.
  worker_procs = 1

  # A crashed worker is started again no sooner than this; the wait doubles
  # with each crash in a row, up to restart_backoff_max. A worker that holds
  # no script (its executors went idle) stops after a few seconds.
  restart_backoff = "100ms"
  restart_backoff_max = "30s"
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
