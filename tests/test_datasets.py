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


def build(tmp_path, sample, seed=3, **selection):
    """Write the jets (one JetArrays, or a list of shards) to shard files, run the dataset stage on them and
    read the dataset file back."""
    parts = sample if isinstance(sample, list) else [sample]
    tmp_path.mkdir(parents=True, exist_ok=True)
    shards = [str(tmp_path / f"shard{i}.h5") for i in range(len(parts))]
    for path, part in zip(shards, parts, strict=True):
        io.write_jets(path, part)
    out = tmp_path / f"dataset_{seed}.h5"
    datasets.write_dataset(shards, out, FRACTIONS, seed, **(SELECTION | selection))
    return datasets.read_dataset(str(out))


def two_shards():
    return [toy.generate(400, True, 1, **TOY), toy.generate(700, False, 2, **TOY)]


def test_balance_and_split_counts(tmp_path):
    arrays, attrs = build(tmp_path, jets())
    assert len(arrays["label"]) == 800
    for code, n in ((0, 240), (1, 80), (2, 80)):
        assert (arrays["label"][arrays["split"] == code] == 1).sum() == n
        assert (arrays["label"][arrays["split"] == code] == 0).sum() == n
    assert attrs["cutflow"]["rejected_class_balance"] == 300
    assert attrs["cutflow"]["generated"] == 1100


def test_split_depends_only_on_data_seed(tmp_path):
    a = build(tmp_path / "a", jets(), seed=3)[0]["split"]
    b = build(tmp_path / "b", jets(), seed=3)[0]["split"]
    c = build(tmp_path / "c", jets(), seed=4)[0]["split"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scaling_uses_training_split_only(tmp_path):
    arrays, attrs = build(tmp_path / "a", jets())
    # Blow up the test jets' raw values: the fitted scaling must not move.
    shifted = jets()
    test_rows = np.flatnonzero(arrays["split"] == 2)
    kept, _ = datasets.balance_and_split(shifted.label, FRACTIONS, 3)
    shifted.xaug[kept[test_rows]] *= 100
    arrays2, attrs2 = build(tmp_path / "b", shifted)
    assert attrs2["xaug_scaling"] == attrs["xaug_scaling"]
    train = arrays["xaug_scaled"][arrays["split"] == 0]
    assert train.min() == 0.0 and train.max() == 1.0
    assert np.all((arrays2["xaug_scaled"] >= 0) & (arrays2["xaug_scaled"] <= 1))


def test_streaming_does_not_depend_on_block_sizes(tmp_path, monkeypatch):
    """Small write blocks change nothing; fit blocks smaller than the training split change the scalings
    by rounding only."""
    selection = {"windows": {"theta": [0.0, 0.5]}}
    reference, reference_attrs = build(tmp_path / "a", two_shards(), **selection)
    monkeypatch.setattr(datasets, "WRITE_BLOCK_ROWS", 7)
    monkeypatch.setattr(io, "READ_BLOCK_ROWS", 5)
    small_writes, attrs = build(tmp_path / "b", two_shards(), **selection)
    assert attrs["cutflow"] == reference_attrs["cutflow"]
    assert attrs["training_means"] == reference_attrs["training_means"]
    for key, value in reference.items():
        np.testing.assert_array_equal(small_writes[key], value, err_msg=key)
    monkeypatch.setattr(datasets, "FIT_BLOCK_ROWS", 50)
    small_fits, _ = build(tmp_path / "c", two_shards(), **selection)
    for key, value in reference.items():
        np.testing.assert_allclose(small_fits[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


def test_column_stats_in_pieces_are_numpy_statistics(monkeypatch):
    """Blocks cut into pieces of SUM_ROWS rows: numpy's mean and std to rounding, the exact range."""
    x = np.random.default_rng(4).normal(5.0, [1.0, 100.0, 1e-3], size=(1000, 3))
    monkeypatch.setattr(datasets, "SUM_ROWS", 7)
    stats = datasets.ColumnStats.fit(lambda: (x[start : start + 300] for start in range(0, len(x), 300)))
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.std, x.std(0), rtol=1e-12)
    np.testing.assert_array_equal(stats.low, x.min(0))
    np.testing.assert_array_equal(stats.high, x.max(0))
    with pytest.raises(ValueError, match="no rows"):
        datasets.ColumnStats.fit(lambda: iter([x[:0]]))


def test_nonzero_rows_is_flatnonzero_in_blocks(monkeypatch):
    mask = np.random.default_rng(5).random(1001) < 0.3
    monkeypatch.setattr(datasets, "SUM_ROWS", 64)
    rows = datasets.nonzero_rows(mask, np.int32)
    assert rows.dtype == np.int32
    np.testing.assert_array_equal(rows, np.flatnonzero(mask))
    assert len(datasets.nonzero_rows(np.zeros(0, dtype=bool), np.int32)) == 0


def test_summed_counters_add_missing_keys_as_zero():
    assert datasets.summed_counters([{"a": 1, "b": 2}, {"a": 3, "c": 4}]) == {"a": 4, "b": 2, "c": 4}


def test_clipping_at_n_sigma():
    x = np.r_[np.zeros(99), 1000.0][:, None]
    scaling = datasets.XaugScaling.fit(lambda: [x], ["v"], n_sigma=3, encoding="minmax")
    assert scaling.high[0] == pytest.approx(3 * x.std() + x.mean())


def test_windows_count_rejections():
    sample = jets()
    keep, counts = datasets.window_mask(sample.xaug, sample.xaug_names, {"theta": [0.1, 0.3]})
    assert counts["rejected_window_theta"] == len(sample) - keep.sum()
    label = sample.label[keep]
    assert (label == 1).sum() > 390 and (label == 0).sum() < 20  # bkg: P(θ > 0.1) = e^-5


def test_xaug_input_subset_and_unknown_variable(tmp_path):
    arrays, attrs = build(tmp_path, jets(), xaug_inputs=["theta"])
    assert arrays["xaug_scaled"].shape[1] == 1 and attrs["xaug_inputs"] == ["theta"]
    with pytest.raises(KeyError, match="tau21"):
        build(tmp_path, jets(), xaug_inputs=["tau21"])


def test_padding_is_zero_with_mask_feature():
    particles = np.ones((4, 3, 2))
    mask = np.array([[1, 1, 0]] * 4, dtype=bool)
    scaled = datasets.ParticleScaling.fit(lambda: [(particles, mask)]).transform(particles, mask)
    assert scaled.shape == (4, 3, 3)
    np.testing.assert_array_equal(scaled[:, 2], 0.0)
    np.testing.assert_array_equal(scaled[:, :2, 2], 1.0)


def test_shards_with_other_variables_are_refused(tmp_path):
    sample = jets(20, 20)
    io.write_jets(tmp_path / "a.h5", sample)
    other = sample.select(np.arange(len(sample)))
    other.xaug_names = [*sample.xaug_names[:-1], "renamed"]
    io.write_jets(tmp_path / "b.h5", other)
    with pytest.raises(ValueError, match=r"b\.h5"):
        datasets.Shards([str(tmp_path / "a.h5"), str(tmp_path / "b.h5")])


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
