# bench/core.mk - (to be written)
