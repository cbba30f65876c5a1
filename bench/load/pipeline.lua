-- pipeline.lua: wrk sends 16 GET /plaintext requests back to back on each connection and
-- sends the next 16 once all 16 responses are in; wrk counts every response.
--   wrk -t1 -c64 -d3s -s bench/load/pipeline.lua http://127.0.0.1:PORT/plaintext [-- DEPTH]

init = function(args)
   local depth = tonumber(args[1]) or 16
   local one = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
   req = string.rep(one, depth)
end

request = function()
   return req
end
