-- wrk script: POSTs pre-signed HubSpot v3 webhook deliveries, a different event each time.
-- webhook_ingest_bench.sh writes finished HTTP requests, each after its length in 8 digits, one file per wrk
-- thread (<prefix>.0, <prefix>.1, ...), so no event id is sent by two threads. Each thread reads its file as it
-- sends: wrk runs the next thread's setup while the first one already sends, so setup does nothing but open.
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  file = assert(io.open(args[1] .. "." .. index, "rb"))
end

function request()
  local len = file:read(8)
  if not len then  -- wrapped around: repeats are duplicates (acknowledged, stored once)
    file:seek("set", 0)
    len = file:read(8)
  end
  return file:read(tonumber(len))
end
