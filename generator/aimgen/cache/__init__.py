"""The model cache: a Hugging Face hub cache on a (shared) volume, filled once and read with no network.

Modules, one job each:
  layout        where everything lives under the cache dir (HF layout under hub/, ours under aimgen/)
  fsutil        atomic writes and symlinks, free-space probe
  files         repo files, pattern selection, the pickle policy
  record        completion records (written last) and the stat-only warm check
  index         usage index (size, revisions, first fetch, last use, hits)
  lease         cross-host leases with heartbeat and takeover (NFS-safe, no flock)
  retry         exponential backoff with jitter
  remote        every huggingface_hub call (model info, HEAD, GET with Range, Xet)
  transfer      resumable, hashed writes into a partial file
  prefetch      the prefetch command: warm path, planning, workers, publish
  source_local  a local directory or PVC as the source
  verify        re-hash every blob against its recorded digest
  manage        list, stats, prune, evict
  progress      a bar on terminals, JSON lines elsewhere
  plan          pure helpers for the renderer (PVC size, init container argv, serving env)
"""
