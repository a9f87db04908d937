-- wrk script: POSTs pre-signed HubSpot v3 webhook deliveries, a different event each time.
-- The requests file (made by webhook_ingest_bench.sh) has one "signature<TAB>timestamp<TAB>body" per line; each
-- wrk thread takes its own share of the lines so no event id is sent twice.
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2])
  requests = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == index then
      local sig, ts, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", wrk.path, {
        ["Content-Type"] = "application/json",
        ["X-HubSpot-Signature-v3"] = sig,
        ["X-HubSpot-Request-Timestamp"] = ts,
      }, body)
    end
    i = i + 1
  end
  n = 0
end

function request()
  n = n + 1
  if n > #requests then n = 1 end  -- wrapped around: repeats are duplicates (acknowledged, stored once)
  return requests[n]
end
