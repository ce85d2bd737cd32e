-- One track event per request; ingest generates each messageId.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic ZGV2LXdyaXRlLWtleTo="  -- dev-write-key:
wrk.body = '{"userId":"u1","event":"Report Exported","context":{"groupId":"bench-1"},"properties":{"plan":"pro","seats":25}}'

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
