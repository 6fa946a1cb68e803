-- localaks: resty.lock (the API of lua-resty-lock, which Debian does not
-- package), in plain Lua on a shared dictionary: add() takes a key, the
-- holder's delete() frees it; waiters retry until opts.timeout.
local _M = {}
local mt = { __index = _M }

function _M.new(_, dict_name, opts)
  local dict = ngx.shared[dict_name]
  if not dict then
    return nil, "dictionary not found"
  end
  opts = opts or {}
  return setmetatable({
    dict = dict,
    exptime = opts.exptime or 30,
    timeout = opts.timeout or 5,
    step = opts.step or 0.001,
    max_step = opts.max_step or 0.5,
    ratio = opts.ratio or 2,
  }, mt)
end

function _M.lock(self, key)
  if self.key then
    return nil, "locked"
  end
  local elapsed, step = 0, self.step
  while true do
    local ok, err = self.dict:add(key, true, self.exptime)
    if ok then
      self.key = key
      return elapsed
    end
    if err ~= "exists" then
      return nil, err
    end
    if elapsed + step > self.timeout then
      return nil, "timeout"
    end
    ngx.sleep(step)
    elapsed = elapsed + step
    step = math.min(step * self.ratio, self.max_step)
  end
end

function _M.unlock(self)
  if not self.key then
    return nil, "unlocked"
  end
  self.dict:delete(self.key)
  self.key = nil
  return 1
end

function _M.expire(self, time)
  if not self.key then
    return nil, "unlocked"
  end
  return self.dict:replace(self.key, true, time or self.exptime)
end

return _M
