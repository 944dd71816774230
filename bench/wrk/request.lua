-- One request, repeated: method, body size and connection mode from the environment; the URL is presigned.
-- done() prints one JSON line with the figures bench/endpoint.py reads.
wrk.method = os.getenv("WRK_METHOD") or "GET"
local size = tonumber(os.getenv("WRK_BODY_BYTES") or "0")
if size > 0 then
  wrk.body = string.rep("a", size)
end
if os.getenv("WRK_CONNECTION_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "non2xx": %d, "socket_errors": %d, "p50_ms": %f, "p99_ms": %f}\n',
    summary.requests, summary.duration / 1e6, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
