-- localaks: no HTTP client library is packaged for Debian's nginx. The
-- ingress controller's Lua needs one only to fetch OCSP responses
-- (enable-ocsp), which localaks does not support: nothing outside is
-- reachable from its nodes.
local _M = {}

function _M.new()
  return nil, "resty.http is not available on localaks: OCSP stapling (enable-ocsp) is not supported"
end

return _M
