local v = coroutine.yield("paused")
return v * 2
