-- localaks: used only by global rate limiting, which localaks does not
-- support (see global_throttle.lua).
local _M = {}

function _M.new()
  return nil, "global rate limiting is not supported on localaks"
end

return _M
