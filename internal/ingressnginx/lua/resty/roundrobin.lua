-- localaks: resty.roundrobin (the API of lua-resty-balancer's module, which
-- Debian does not package), in plain Lua: smooth weighted round robin over
-- nodes = { [id] = weight }, the order of ids fixed by sorting them.
local _M = {}
local mt = { __index = _M }

local function load(self, nodes)
  local ids = {}
  for id, weight in pairs(nodes) do
    if weight > 0 then
      ids[#ids + 1] = id
    end
  end
  table.sort(ids, function(a, b) return tostring(a) < tostring(b) end)
  local current = {}
  for i = 1, #ids do
    current[i] = 0
  end
  self.nodes, self.ids, self.current = nodes, ids, current
end

function _M.new(_, nodes)
  local self = setmetatable({}, mt)
  load(self, nodes)
  return self
end

function _M.reinit(self, nodes)
  load(self, nodes)
end

-- find returns the next node's id and its index.
function _M.find(self)
  local ids, current, nodes = self.ids, self.current, self.nodes
  local best, total = nil, 0
  for i = 1, #ids do
    local weight = nodes[ids[i]]
    total = total + weight
    current[i] = current[i] + weight
    if best == nil or current[i] > current[best] then
      best = i
    end
  end
  if best == nil then
    return nil, "no nodes"
  end
  current[best] = current[best] - total
  return ids[best], best
end

_M.next = _M.find

return _M
