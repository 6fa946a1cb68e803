-- localaks: resty.chash (the API of lua-resty-balancer's module, whose C
-- library Debian does not package), in plain Lua: consistent hashing of
-- keys onto nodes = { [id] = weight }, 160 points per unit of weight on a
-- CRC32 ring, so that a key keeps its node while the set changes little.
local crc32 = ngx.crc32_long
local _M = {}
local mt = { __index = _M }

local POINTS = 160

local function load(self, nodes)
  local points = {}
  for id, weight in pairs(nodes) do
    for i = 1, POINTS * weight do
      points[#points + 1] = { crc32(tostring(id) .. "#" .. i), id }
    end
  end
  table.sort(points, function(a, b)
    if a[1] == b[1] then
      return tostring(a[2]) < tostring(b[2])
    end
    return a[1] < b[1]
  end)
  self.nodes, self.points = nodes, points
end

function _M.new(_, nodes)
  local self = setmetatable({}, mt)
  load(self, nodes)
  return self
end

function _M.reinit(self, nodes)
  load(self, nodes)
end

-- find returns the id of the node that owns key, and its ring index.
function _M.find(self, key)
  local points = self.points
  local n = #points
  if n == 0 then
    return nil, "no nodes"
  end
  local h = crc32(tostring(key))
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if points[mid][1] < h then
      lo = mid + 1
    else
      hi = mid
    end
  end
  if points[lo][1] < h then
    lo = 1
  end
  return points[lo][2], lo
end

-- next returns the first node after ring index i that is not its node.
function _M.next(self, i)
  local points = self.points
  local n = #points
  if n == 0 then
    return nil, "no nodes"
  end
  local id = points[i] and points[i][2]
  for step = 1, n do
    local j = (i + step - 1) % n + 1
    if points[j][2] ~= id then
      return points[j][2], j
    end
  end
  return id, i
end

return _M
