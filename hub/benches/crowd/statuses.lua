-- wrk script: counts answers by status (so 503s are told apart from other errors) and, when
-- CROWD_PATHS names a file of request paths, asks them in turn (uncached maps: a different area each
-- time).
local threads = {}
local paths = {}

local list = os.getenv("CROWD_PATHS")
if list and list ~= "" then
  for line in io.lines(list) do
    if line ~= "" then paths[#paths + 1] = line end
  end
end

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  statuses = {}
  counter = id or 0
end

function request()
  if #paths == 0 then
    return wrk.format(nil)
  end
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, n in pairs(s) do
      total[status] = (total[status] or 0) + n
    end
  end
  local line = "statuses:"
  for status, n in pairs(total) do
    line = line .. " " .. status .. "=" .. n
  end
  io.write(line .. "\n")
  io.write(string.format("p50_ms: %.2f\np99_ms: %.2f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
