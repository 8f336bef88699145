"""Square-root mixture: hand-computed probabilities."""

import math

import pytest

from ibench.protocol.mixture import MixtureError, load_sizes, sqrt_mixture


def test_hand_computed_example():
    # sqrt: 1, 2, 3, 4 -> sum 10
    probs = sqrt_mixture({"a": 1, "b": 4, "c": 9, "d": 16})
    assert probs == pytest.approx({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4})


def test_sums_to_one_and_rejects_bad_sizes(tmp_path):
    probs = sqrt_mixture({"x": 566747, "y": 9009, "z": 17056})
    assert math.isclose(sum(probs.values()), 1.0)
    with pytest.raises(MixtureError):
        sqrt_mixture({"x": 0})
    path = tmp_path / "sizes.yaml"
    path.write_text("a: 100\nb: lots\n")
    with pytest.raises(MixtureError, match="field 'b'"):
        load_sizes(path)
