"""The Lua that turns the lane member of W3C ``baggage`` into the route header (Envoy filter).

The script body is constant; the only design values in it are the route header and the
baggage key, and they enter as Lua string literals made by ``lua_string`` (never pasted raw).
"""

from __future__ import annotations


def lua_string(text: str) -> str:
    """``text`` as a double-quoted Lua string literal: printable ASCII as is, the rest escaped.

    Example: ``lua_string('a"b')`` is ``"a\\"b"``. Every byte outside printable ASCII (newlines,
    NUL, UTF-8) becomes a three-digit ``\\ddd`` escape, so the literal stays on one line and a
    following digit can never extend the escape.
    """
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


# Lua 5.1 as LuaJIT runs it inside Envoy. Envoy's ``headers():get`` joins every value of a
# header with ",", so several baggage headers read as one list, as W3C baggage says they are.
_BODY = r"""
-- W3C baggage: members "key=value;properties" separated by ",", optional
-- spaces/tabs around them, values percent-encoded.
local function trim(s)
  return s:match("^[ \t]*(.-)[ \t]*$")
end

-- The raw value of the last member named BAGGAGE_KEY, or nil. The last one
-- wins: the gateway appends the lane it chose after any member the client sent
-- (OpenTelemetry SDKs resolve duplicate keys the same way).
local function lane_member(baggage)
  local found = nil
  for member in baggage:gmatch("[^,]+") do
    local pair = member:match("^[^;]*")
    local eq = pair:find("=", 1, true)
    if eq and trim(pair:sub(1, eq - 1)) == BAGGAGE_KEY then
      found = trim(pair:sub(eq + 1))
    end
  end
  return found
end

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

-- Only a DNS-1123 label can name a lane: anything else (upper case, spaces,
-- CR/LF, "," or ";" smuggled in percent-encoded) is dropped, so the call goes
-- to the baseline.
local function is_lane_name(s)
  return #s <= 63 and s:match("^[a-z0-9][a-z0-9%-]*$") ~= nil
    and s:sub(-1) ~= "-"
end

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  if headers:get(ROUTE_HEADER) ~= nil then
    return  -- the app or the gateway already named the lane: keep it
  end
  local baggage = headers:get("baggage")
  if baggage == nil then
    return
  end
  local value = lane_member(baggage)
  if value == nil then
    return
  end
  local lane = percent_decode(value)
  if is_lane_name(lane) then
    -- changing a header makes Envoy choose the route again, with the lane
    headers:replace(ROUTE_HEADER, lane)
  end
end
"""


def baggage_lua(route_header: str, baggage_key: str) -> str:
    """The Envoy Lua source that sets ``route_header`` from baggage member ``baggage_key``."""
    return _lua_source("set the lane route header from the W3C baggage member",
                       route_header, baggage_key, _BODY)


def _lua_source(purpose: str, route_header: str, baggage_key: str, body: str) -> str:
    """A filter's Lua: a comment saying what it is for, its two constants, then its body."""
    return (f"-- lanedesign: {purpose}.\n"
            f"local ROUTE_HEADER = {lua_string(route_header)}\n"
            f"local BAGGAGE_KEY = {lua_string(baggage_key)}\n" + body)


# The inbound side (every sidecar, before the app). The gateway *adds* its baggage member
# after the client's, so an app can receive two `baggage` lines naming different lanes, and
# OpenTelemetry's propagator reads only the first line: the app would carry the client's
# lane on. This filter hands the app a single `baggage` line whose lane member is the lane
# the request was routed in (the route header), keeping every other member in order.
_INBOUND_BODY = r"""
local function trim(s)
  return s:match("^[ \t]*(.-)[ \t]*$")
end

local function is_lane_name(s)
  return #s <= 63 and s:match("^[a-z0-9][a-z0-9%-]*$") ~= nil
    and s:sub(-1) ~= "-"
end

-- Every member of the (joined) baggage list except those named BAGGAGE_KEY.
local function other_members(baggage)
  local kept = {}
  for member in baggage:gmatch("[^,]+") do
    local pair = member:match("^[^;]*")
    local eq = pair:find("=", 1, true)
    local key = eq and trim(pair:sub(1, eq - 1)) or nil
    local text = trim(member)
    if key ~= BAGGAGE_KEY and text ~= "" then
      kept[#kept + 1] = text
    end
  end
  return kept
end

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local lane = headers:get(ROUTE_HEADER)
  if lane == nil or not is_lane_name(lane) then
    return  -- the request names no lane: its baggage reaches the app as it came
  end
  local members = other_members(headers:get("baggage") or "")
  members[#members + 1] = BAGGAGE_KEY .. "=" .. lane
  -- replace drops every baggage line and writes one
  headers:replace("baggage", table.concat(members, ","))
end
"""


def baggage_inbound_lua(route_header: str, baggage_key: str) -> str:
    """The Envoy Lua source that makes the app's ``baggage`` name the lane it was routed in."""
    return _lua_source("hand the app one baggage line naming the lane of its route header",
                       route_header, baggage_key, _INBOUND_BODY)
