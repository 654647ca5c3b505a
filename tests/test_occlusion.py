"""Occlusion: an input the network provably ignores has ΔAUC = 0; one it relies on has ΔAUC > 0."""

from __future__ import annotations

import numpy as np
import torch

from xaugjets.aggregation import occlusion_table
from xaugjets.io import write_h5
from xaugjets.models import build_model, input_tensors
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


def test_image_network_extracts_once_with_the_same_logits():
    """cnn2d_xaug: the XAUG variants reuse one extraction per batch; every logit equals the masked forward."""
    torch.manual_seed(3)
    net = build_model("cnn2d_xaug", **SHAPES).eval()
    rng = np.random.default_rng(2)
    n = 70
    arrays = {
        "image": rng.exponential(size=(n, 16, 16)).astype(np.float32),
        "xaug_scaled": rng.uniform(size=(n, 3)).astype(np.float32),
        "label": (np.arange(n) % 2).astype(np.int8),
    }
    means = {"image": arrays["image"].mean(axis=0), "xaug": np.array([0.2, 0.5, 0.7], dtype=np.float32)}
    found, masked = occlusion_logits(net, arrays, means, ["a", "b", "c"], [], batch_size=32)
    assert len(found) == 2 + 6  # the image (zero, mean) and three XAUG variables (zero, mean)
    for v, (feature, mask, key, column) in enumerate(found):
        image, xaug = (t.clone() for t in input_tensors(arrays, net.inputs))
        fill = 0.0 if mask == "zero" else None
        if key == "image":
            image[:] = fill if fill is not None else torch.as_tensor(means["image"])
        else:
            xaug[:, column] = fill if fill is not None else float(means["xaug"][column])
        with torch.no_grad():
            expected = np.concatenate([net(image[s : s + 32], xaug[s : s + 32]).numpy() for s in range(0, n, 32)])
        np.testing.assert_array_equal(masked[v], expected, err_msg=f"{feature} {mask}")
