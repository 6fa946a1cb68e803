-- localaks: global rate limiting (global-rate-limit-* annotations, backed by
-- memcached) is not supported; its library is not packaged for Debian.
local _M = {}

function _M.new()
  return nil, "global rate limiting is not supported on localaks"
end

return _M
