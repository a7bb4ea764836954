-- wrk script of `make bench` (run by bench/wrk.py): POST a JSON body to a path, one of whose
-- `{key}` is replaced by a random key per request when asked.
--   wrk ... -s load.lua URL -- PATH BODY RANDOM_KEY(0|1)
-- Counts every non-2xx answer and keeps an evenly spread sample of the replies, which
-- bench/checks.py judges: the checks stay in one place (Python, shared with bench/flows.py),
-- and the per-response work here is a comparison and a modulo.
-- Prints WRKSAMPLE/WRKBAD lines (hex of "STATUS BODY") and one WRKJSON line with the counts.

wrk.method = "POST"
wrk.headers["content-type"] = "application/json"

local CAP = 256 -- samples kept per thread; on reaching it, every other one is dropped
local BAD_CAP = 5 -- non-2xx replies kept per thread

local threads = {}
local path_tpl = "/"
local random_key = false

-- Per-thread globals, read back in done() with thread:get.
non2xx = 0
seen = 0
stride = 1
samples = {}
bad = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  path_tpl = args[1]
  wrk.body = args[2]
  random_key = args[3] == "1"
end

function request()
  local path = path_tpl
  if random_key then
    path = string.gsub(path_tpl, "{key}", tostring(math.random(1, 1000000)))
  end
  return wrk.format(nil, path)
end

function response(status, headers, body)
  seen = seen + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if #bad < BAD_CAP then
      bad[#bad + 1] = status .. " " .. body
    end
  end
  if seen % stride == 0 then
    samples[#samples + 1] = status .. " " .. body
    if #samples == CAP then
      -- Keep replies stride*2, stride*4, ...: the sample stays spread over the whole run
      -- however long it is, in bounded memory.
      local kept = {}
      for i = 2, CAP, 2 do
        kept[#kept + 1] = samples[i]
      end
      samples = kept
      stride = stride * 2
    end
  end
end

local function hex(s)
  return (string.gsub(s, ".", function(c) return string.format("%02x", string.byte(c)) end))
end

function done(summary, latency, requests)
  local total_non2xx = 0
  for _, thread in ipairs(threads) do
    total_non2xx = total_non2xx + thread:get("non2xx")
    for _, s in ipairs(thread:get("samples")) do
      io.write("WRKSAMPLE ", hex(s), "\n")
    end
    for _, s in ipairs(thread:get("bad")) do
      io.write("WRKBAD ", hex(s), "\n")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, total_non2xx, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
