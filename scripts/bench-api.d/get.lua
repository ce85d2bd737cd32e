-- GET requests with the API token; `paths` (one per line in the file PATHS names) are taken in turn, so a run
-- spreads over many accounts instead of one cached row.
local paths = {}
local file = os.getenv("PATHS")
if file and file ~= "" then
  for line in io.lines(file) do paths[#paths + 1] = line end
end
local counter = 0
wrk.headers["Authorization"] = "Bearer dev-api-token"

function request()
  if #paths == 0 then return wrk.format("GET") end
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

-- `samples` is how many latencies wrk's histogram holds, which its percentiles are computed from; it can be far
-- below `requests` (see scripts/bench-api).
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f samples=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, #latency,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
