-- Wrapper around another wrk script (kv.lua / etcd-kv.lua) that also writes this wrk process's
-- latency quantile function, so several wrk processes run side by side can be merged into one
-- latency distribution (bench/kv_cluster.sh).
-- Env: WRK_SCRIPT   = the script to wrap (path; default kv.lua next to this file)
--      WRK_HIST_OUT = output file: "<percentile> <latency_us>" lines, percentiles 0.5..99 in 0.5 steps
--                     and 99.01..100 in 0.01 steps (100 = max), from wrk's 1-us histogram.
-- (wrk 4.1's Lua API only reaches the raw histogram through latency(i) = i-th non-empty bucket, a
-- linear scan per call, so the full histogram is too slow to dump; 297 percentile() calls are cheap.)
-- The wrapped script's request/init/setup and RESULT line are unchanged.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(os.getenv("WRK_SCRIPT") or (here .. "kv.lua"))

local wrapped_done = done
function done(summary, latency, requests)
  if wrapped_done then wrapped_done(summary, latency, requests) end
  local out = os.getenv("WRK_HIST_OUT")
  if not out or summary.requests == 0 then return end
  local f = assert(io.open(out, "w"))
  for i = 1, 198 do f:write(string.format("%.2f %d\n", i * 0.5, latency:percentile(i * 0.5))) end
  for i = 1, 99 do f:write(string.format("%.2f %d\n", 99 + i * 0.01, latency:percentile(99 + i * 0.01))) end
  f:write(string.format("100.00 %d\n", latency.max))   -- wrk's percentile(100) runs past the end
  f:close()
end
