-- Paces wrk: each connection waits PACE_MS (default 32) between an answer and its next request,
-- so that 64 connections offer about 64000 / PACE_MS requests a second, well below saturation.
-- Latency then is a request's own time on the path at a steady load, not its queueing.
local pace = tonumber(os.getenv("PACE_MS") or "32")

function delay()
	return pace
end
