"""Package hygiene: import is offline and light; the data ships inside the package."""
from __future__ import annotations

import subprocess
import sys
import textwrap


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
