"""`ibench paper`: the paper's Table 1 reproduced in one command: plan (what is ready, what is
missing and the command that fixes it, the projected GPU time), run (every ready model and
dataset into one paper folder, resumable, shardable), table (each cell beside the paper's, with
its interval and a verdict) and explain (one cell's provenance)."""
