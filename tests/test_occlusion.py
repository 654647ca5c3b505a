"""Occlusion: an input the network provably ignores has ΔAUC = 0; one it relies on has ΔAUC > 0."""

from __future__ import annotations

import numpy as np
import torch

from xaugjets.aggregation import occlusion_table
from xaugjets.io import write_h5
from xaugjets.models import build_model
from xaugjets.occlusion import occlusion_logits, variants

SHAPES = {"grid": 16, "n_particles": 20, "n_particle_features": 5, "n_xaug": 3, "dropout": 0.2, "head_dropout": 0.0}


def xaug_net() -> torch.nn.Module:
    """xaug_dnn whose first layer reads only column 0: columns 1 and 2 are provably ignored."""
    torch.manual_seed(0)
    net = build_model("xaug_dnn", **SHAPES).eval()
    with torch.no_grad():
        net.head[0].weight[:, 1:] = 0.0
    return net


def test_ignored_inputs_have_zero_delta_auc(tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    label = (np.arange(n) % 2).astype(np.int8)
    xaug = rng.normal(size=(n, 3)).astype(np.float32)
    xaug[:, 0] += 2.0 * label  # the only informative column, and the only one the net reads
    arrays = {"xaug_scaled": xaug, "label": label}
    net = xaug_net()
    means = {"xaug": xaug.mean(axis=0)}
    found, masked = occlusion_logits(net, arrays, means, ["a", "b", "c"], [])
    assert [(f, m) for f, m, _, _ in found] == [(f, m) for f in "abc" for m in ("zero", "mean")]
    with torch.no_grad():
        full = net(torch.as_tensor(xaug)).numpy()
    np.testing.assert_array_equal(masked[2], full)  # b masked: nothing changes
    paths = []
    for seed in range(2):
        path = tmp_path / f"occlusion{seed}.h5"
        write_h5(
            path,
            {"logit": full, "masked_logits": masked, "label": label, "weight": np.ones(n, dtype=np.float32)},
            {"variants": [[f, m] for f, m, _, _ in found]},
        )
        paths.append(str(path))
    table, _ = occlusion_table(paths, n_resamples=30)
    table = table.set_index(["feature", "mask"])
    for feature in ("b", "c"):
        for mask in ("zero", "mean"):
            assert table.loc[(feature, mask), "delta_auc"] == 0.0
            assert table.loc[(feature, mask), "delta_auc_err"] == 0.0
    assert table.loc[("a", "zero"), "delta_auc"] > 0.05


def test_particle_mask_channel_is_not_occluded():
    net = build_model("cnn1d", **SHAPES)
    found = variants(net, [], ["pt", "eta", "phi", "charge", "is_particle"])
    assert {f for f, _, _, _ in found} == {"particles:pt", "particles:eta", "particles:phi", "particles:charge"}
