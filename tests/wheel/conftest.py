import sys
from pathlib import Path

# tests/fixtures holds shared helpers (tls.py) until the test tree's move lands.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
