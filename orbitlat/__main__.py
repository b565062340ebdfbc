"""``python -m orbitlat ...``: the command line, the same as the ``orbitlat`` script (handy in a notebook cell:
``!{sys.executable} -m orbitlat coverage kuiper ...`` runs the code of the Python the kernel runs)."""
from orbitlat.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    main()
