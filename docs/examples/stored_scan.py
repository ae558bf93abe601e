# %% [markdown]
# # A stored scan: write it, stop it halfway, resume it, read it back
#
# `landscape.phase.phase_scan` evaluates a model at every point of a grid of named
# parameters and returns a labelled `xarray.Dataset`. With `out=PATH` every chunk is
# written to a zarr store as soon as it is computed, so a run that stops keeps its
# finished chunks. Here the run is stopped on purpose after two chunks (an exception
# raised from the progress callback, as a Ctrl-C would), then resumed.

# %%
import tempfile
from pathlib import Path

import numpy as np

from landscape import phase
from landscape.scan import Axis, Grid, open_scan, scan_info

model = phase.PhaseModel.diagonal([4, 3, 2.2, 1.6, 1.1, 0.7, 0.4, 0.2], sigma2=0.0, loss="beta-infonce")
grid = Grid([Axis("sigma2", np.linspace(0, 5, 41)), Axis("gamma", np.linspace(0, 2.25, 25))])
path = Path(tempfile.mkdtemp()) / "beta.zarr"


class Stop(Exception):
    pass


def stop_after_two_chunks(p):
    if p.computed >= 2 * p.chunk_size and not p.finished:
        raise Stop


try:
    phase.phase_scan(model, grid, out=path, chunk_size=200, progress=stop_after_two_chunks)
except Stop:
    info = scan_info(path)
    print(f"stopped: {info['chunks_done']} chunks, {info['points_done']} of {info['n_points']} points stored")

# %% [markdown]
# `resume=True` recomputes only the chunks that are missing (or whose checksum fails).
# Resuming with a different grid, model or code version is refused with the differences listed.

# %%
reports = []
ds = phase.phase_scan(model, grid, out=path, resume=True, progress=reports.append)
last = reports[-1]
print(f"resumed: computed {last.computed} points, reused {last.reused}")

# %% [markdown]
# Reading back needs no recomputation. The dataset has one dimension per grid axis and
# the outputs as variables; each says which matrix it is about in its `long_name`.

# %%
ds = open_scan(path)
print(dict(ds.sizes))
print("rank:", ds["rank"].attrs.get("long_name"))
print("gram_eigenvalues:", ds["gram_eigenvalues"].attrs.get("long_name"))
cut = ds["rank"].sel(weight_decay=0.0)
print("rank along σ² at γ = 0:", cut.values[::5].tolist())
