"""Strip outputs and execution counts from notebooks/*.ipynb (they are stored clean)."""
import json
import sys
from pathlib import Path

for p in sorted(Path(__file__).resolve().parents[1].glob("notebooks/*.ipynb")) if len(sys.argv) < 2 else map(Path, sys.argv[1:]):
    nb = json.loads(p.read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
        c.get("metadata", {}).pop("execution", None)
        c.get("metadata", {}).pop("papermill", None)
    nb.get("metadata", {}).pop("papermill", None)
    p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    print("cleaned", p)
