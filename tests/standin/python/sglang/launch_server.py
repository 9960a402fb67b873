"""`python3 -m sglang.launch_server ARGS...` as the serving container runs it, answered by the stand-in engine."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import engine  # noqa: E402

engine.main(("python3", "-m", "sglang.launch_server"), sys.argv[1:])
