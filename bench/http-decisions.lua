-- wrk script for `bench http`: POSTs pre-built decision bodies, spread over the bench's sessions,
-- and counts how many answers allowed. Arguments after `--`:
--   <mode: authz | cerbos | open> <bodies file: one JSON body per line> [bearer token]
-- authz posts AuthZEN evaluations to /access/v1/evaluation (allowed: "decision":true), cerbos
-- posts CheckResources to /api/check/resources (allowed: EFFECT_ALLOW), open posts
-- POST /v1/sessions (`bench agents`; allowed = 201 Created). Prints one line
-- "RESULT key=value ..." that the bench parses.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local requests = {}
local next_request = 1
local allow_marker
local allow_status = 200
allowed = 0
not_allowed = 0

function init(args)
  local mode, path, token = args[1], args[2], args[3]
  local headers = { ["Content-Type"] = "application/json" }
  if token ~= nil and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  local endpoint = "/access/v1/evaluation"
  allow_marker = '"decision":true'
  if mode == "cerbos" then
    endpoint = "/api/check/resources"
    allow_marker = '"EFFECT_ALLOW"'
  elseif mode == "open" then
    endpoint = "/v1/sessions"
    allow_marker = '"id"'
    allow_status = 201
  end
  for line in io.lines(path) do
    if line ~= "" then requests[#requests + 1] = wrk.format("POST", endpoint, headers, line) end
  end
  -- Threads start half the ring apart, so two threads rarely queue on the same session.
  next_request = (id * math.floor(#requests / 2)) % #requests + 1
end

function request()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end

function response(status, headers, body)
  if status == allow_status and string.find(body, allow_marker, 1, true) then
    allowed = allowed + 1
  else
    not_allowed = not_allowed + 1
  end
end

function done(summary, latency, requests)
  local a, n = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("allowed")
    n = n + thread:get("not_allowed")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d allowed=%d not_allowed=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    a, n, e.connect + e.read + e.write + e.timeout))
end
