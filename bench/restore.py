"""Warm restore timing: load the model once, restore a file three times, print each time,
the LM work and the peak RSS.  python bench/restore.py ../shared/samples/bride-network-news.txt"""

import resource
import sys
import time

from unspin.lm import load
from unspin.restore import restore_with_stats

text = open(sys.argv[1], encoding="utf-8").read()
t = time.time()
m = load()
load_s = time.time() - t
times = []
for _ in range(3):
    t = time.time()
    r, st = restore_with_stats(text, lm=m)
    times.append(time.time() - t)
print(f"load {load_s:.1f}s; warm restore {', '.join(f'{x:.1f}' for x in times)} s; changes {len(r.changes)}; "
      f"variants {st.variants}; tokens/run {m.tokens_scored // 3}; "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
