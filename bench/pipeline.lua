-- wrk script: sends N pipelined GET requests per write.
--
--   wrk -t1 -c64 -d10s -s bench/pipeline.lua http://127.0.0.1:8080/ -- 16
--
-- The batch is built once per thread in init() and returned unchanged by
-- request(); wrk counts every response in it.

local batch

function init(args)
  local depth = tonumber(args[1]) or 16
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format()
  end
  batch = table.concat(requests)
end

function request()
  return batch
end
