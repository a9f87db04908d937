-- wrk script for propagation_load.sh: the load is changes made in HubSpot (the simulator's admin API), each a new
-- phone for one of the load contacts, paced to a target rate; the simulator then delivers each change to
-- omnisyncd as a signed HubSpot v3 webhook, as HubSpot would. Arguments: first contact id, number of load
-- contacts, milliseconds between two requests on one connection (connections x 1000 / target rate).
-- Phones are unique across threads and requests (+1646 and 7 digits; thread t uses t*2,000,000 + n), so no two
-- people ever share one and identity never links them.
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  first = tonumber(args[1])
  count = tonumber(args[2])
  pause = tonumber(args[3])
  n = 0
end

function delay()
  return pause
end

function request()
  local k = first + (index * 7919 + n) % count
  local phone = string.format("+1646%07d", index * 2000000 + n)
  n = n + 1
  return wrk.format("PATCH", "/admin/hubspot/contacts/" .. k, {["Content-Type"] = "application/json"},
                    '{"properties":{"phone":"' .. phone .. '"}}')
end
