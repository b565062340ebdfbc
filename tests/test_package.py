"""Package hygiene: import is offline and light; the data ships inside the package."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_import_opens_no_network_and_loads_no_heavy_modules():
    code = textwrap.dedent("""
        import socket, sys
        def _blocked(*a, **k):
            raise RuntimeError("network access during import")
        socket.socket.connect = _blocked
        socket.create_connection = _blocked
        import orbitlat
        heavy = [m for m in ("pandas", "xarray", "astropy", "skyfield", "cartopy", "boinor", "dask", "scipy")
                 if m in sys.modules]
        print(",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_package_data_is_importable_resource():
    from importlib import resources

    assert (resources.files("orbitlat.data") / "presets.json").is_file()


def test_readme_quickstart_is_two_commands_that_ci_runs():
    # DEVELOPERS.md: exactly two Quickstart commands; .ci/run runs both (the tests, then the report
    # in a fresh venv), so they stay true.
    import re

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quickstart\s+```bash\n(.*?)```", readme, re.S)
    assert block, "README.md has a Quickstart with a bash block"
    cmds = [ln for ln in block.group(1).splitlines() if ln.strip()]
    assert len(cmds) == 2
    install1, run1 = (s.strip() for s in cmds[0].split("&&"))
    install2, run2 = (s.strip() for s in cmds[1].split("&&"))
    assert install1 == 'pip install ".[all]"' and run1.startswith("orbitlat report")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert install2.replace("pip install", "") in ci and f"\n{run2}\n" in ci
    assert '".[all]"' in ci and "orbitlat\" report" in ci
