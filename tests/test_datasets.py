"""Dataset stage: balance, fixed split, scaling fitted on the training split only, padding."""

from __future__ import annotations

import numpy as np
import pytest

from xaugjets import datasets, io, toy

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


TOY = {"grid": 16, "overlap": 0}
SELECTION = {"n_sigma": 3, "windows": {}, "xaug_inputs": (), "xaug_encoding": "minmax"}


def jets(n_sig=400, n_bkg=700):
    return datasets.concatenate([toy.generate(n_sig, True, 1, **TOY), toy.generate(n_bkg, False, 2, **TOY)])


def test_balance_and_split_counts():
    out, extra, _ = datasets.build_dataset(jets(), FRACTIONS, seed=3, **SELECTION)
    assert len(out) == 800
    for code, n in ((0, 240), (1, 80), (2, 80)):
        assert (out.label[extra["split"] == code] == 1).sum() == n
        assert (out.label[extra["split"] == code] == 0).sum() == n
    assert out.cutflow["rejected_class_balance"] == 300
    assert out.cutflow["generated"] == 1100


def test_split_depends_only_on_data_seed():
    a = datasets.build_dataset(jets(), FRACTIONS, seed=3, **SELECTION)[1]["split"]
    b = datasets.build_dataset(jets(), FRACTIONS, seed=3, **SELECTION)[1]["split"]
    c = datasets.build_dataset(jets(), FRACTIONS, seed=4, **SELECTION)[1]["split"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scaling_uses_training_split_only():
    base = jets()
    _, extra, attrs = datasets.build_dataset(base, FRACTIONS, seed=3, **SELECTION)
    # Blow up the test jets' raw values: the fitted scaling must not move.
    shifted = jets()
    test_rows = np.flatnonzero(extra["split"] == 2)
    kept, _ = datasets.balance_and_split(shifted.label, FRACTIONS, 3)
    shifted.xaug[kept[test_rows]] *= 100
    _, extra2, attrs2 = datasets.build_dataset(shifted, FRACTIONS, seed=3, **SELECTION)
    assert attrs2["xaug_scaling"] == attrs["xaug_scaling"]
    train = extra["xaug_scaled"][extra["split"] == 0]
    assert train.min() == 0.0 and train.max() == 1.0
    assert np.all((extra2["xaug_scaled"] >= 0) & (extra2["xaug_scaled"] <= 1))


def test_clipping_at_n_sigma():
    x = np.r_[np.zeros(99), 1000.0][:, None]
    scaling = datasets.XaugScaling.fit(x, ["v"], n_sigma=3, encoding="minmax")
    assert scaling.high[0] == pytest.approx(3 * x.std() + x.mean())


def test_windows_count_rejections():
    sample = jets()
    out, counts = datasets.apply_windows(sample, {"theta": [0.1, 0.3]})
    assert counts["rejected_window_theta"] == len(sample) - len(out)
    assert (out.label == 1).sum() > 390 and (out.label == 0).sum() < 20  # bkg: P(θ > 0.1) = e^-5


def test_xaug_input_subset_and_unknown_variable():
    _, extra, attrs = datasets.build_dataset(jets(), FRACTIONS, 3, 3, {}, xaug_inputs=["theta"], xaug_encoding="minmax")
    assert extra["xaug_scaled"].shape[1] == 1 and attrs["xaug_inputs"] == ["theta"]
    with pytest.raises(KeyError, match="tau21"):
        datasets.build_dataset(jets(), FRACTIONS, 3, 3, {}, xaug_inputs=["tau21"], xaug_encoding="minmax")


def test_padding_is_zero_with_mask_feature():
    particles = np.ones((4, 3, 2))
    mask = np.array([[1, 1, 0]] * 4, dtype=bool)
    scaled, _ = datasets.standardize_particles(particles, mask, np.ones(4, dtype=bool))
    assert scaled.shape == (4, 3, 3)
    np.testing.assert_array_equal(scaled[:, 2], 0.0)
    np.testing.assert_array_equal(scaled[:, :2, 2], 1.0)


def test_round_trip_and_corrupt_file(tmp_path):
    sample = toy.generate(20, True, 1, grid=16, overlap=0)
    io.write_jets(tmp_path / "a.h5", sample)
    back = io.read_jets(tmp_path / "a.h5")
    np.testing.assert_array_equal(back.image, sample.image)
    assert back.xaug_names == sample.xaug_names
    bad = tmp_path / "bad.h5"
    bad.write_bytes((tmp_path / "a.h5").read_bytes()[:500])
    with pytest.raises(OSError, match=r"bad\.h5"):
        io.read_jets(bad)
    with pytest.raises(FileNotFoundError, match=r"missing\.h5"):
        io.read_jets(tmp_path / "missing.h5")


def test_balanced_capped_read(toy_dataset):
    arrays, _ = datasets.read_dataset(str(toy_dataset), "test", max_rows=40)
    assert (arrays["label"] == 1).sum() == 20 and (arrays["label"] == 0).sum() == 20


def test_split_read_from_disk_equals_selection_in_memory(toy_dataset, monkeypatch):
    """Reading a split block by block gives exactly the rows a whole-file read selects, for any block size."""
    everything, _ = datasets.read_dataset(str(toy_dataset))
    for block in (7, 64, 100_000):  # blocks smaller than, around and larger than the file
        monkeypatch.setattr(io, "READ_BLOCK_ROWS", block)
        for split, cap in (("test", None), ("test", 40), ("train", None), ("val", 10)):
            arrays, _ = datasets.read_dataset(str(toy_dataset), split, cap)
            expected = datasets.select_split(everything, split, cap)
            assert arrays.keys() == expected.keys()
            for key, value in expected.items():
                np.testing.assert_array_equal(arrays[key], value, err_msg=f"{key} of {split} (block {block})")


def test_read_rows_needs_increasing_rows(toy_dataset):
    with pytest.raises(ValueError, match="increasing"):
        io.read_h5(toy_dataset, ("label",), np.array([5, 3]))


def test_stored_training_means_are_those_of_the_training_split(toy_dataset):
    """The occlusion reference stored at build time equals the mean over the training rows of the file."""
    from xaugjets.occlusion import training_means

    train, attrs = datasets.read_dataset(str(toy_dataset), "train")
    means = training_means(attrs)
    np.testing.assert_array_equal(means["xaug"], train["xaug_scaled"].mean(axis=0))
    np.testing.assert_array_equal(means["image"], train["image"].mean(axis=0))
    assert means["particles"].shape == (train["particles_scaled"].shape[-1],)
