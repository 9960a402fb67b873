"""Runtime plugins (runtimes/<name>/): the registry, engine snapshots and the engine-config check."""
