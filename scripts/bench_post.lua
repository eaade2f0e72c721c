-- wrk script of `make bench`: POSTs the files DIR/1.EXT .. DIR/N.EXT in
-- turn (each thread starts at another file), so that both sides of a
-- comparison send the same bodies.  Usage: wrk ... -s bench_post.lua URL
-- -- DIR N EXT
local bodies = {}
local i = 0

function init(args)
    local dir, n, ext = args[1], tonumber(args[2]), args[3]
    for k = 1, n do
        local f = assert(io.open(dir .. "/" .. k .. "." .. ext, "rb"))
        bodies[k] = f:read("*a")
        f:close()
    end
    i = math.random(n)
end

function request()
    i = i % #bodies + 1
    return wrk.format("POST", nil, nil, bodies[i])
end
