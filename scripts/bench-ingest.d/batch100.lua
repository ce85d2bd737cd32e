-- One /v1/batch request of 100 track events for 100 accounts; ingest generates each messageId.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic ZGV2LXdyaXRlLWtleTo="  -- dev-write-key:
local items = {}
for i = 1, 100 do
  items[i] = string.format('{"type":"track","userId":"u%d","event":"Report Exported","context":{"groupId":"bench-%d"},"properties":{"plan":"pro","seats":25}}', i, i)
end
wrk.body = '{"batch":[' .. table.concat(items, ",") .. ']}'

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
