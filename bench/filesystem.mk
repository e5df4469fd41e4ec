# bench/filesystem.mk - (to be written)
