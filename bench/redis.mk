# bench/redis.mk - (to be written)
