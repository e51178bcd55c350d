"""What the served lists keep of each user's ranked candidates (the publish's cut)."""

from __future__ import annotations

import numpy as np

from animerec_assets.lib.ml.baselines import spd_inverse
from animerec_assets.lib.ml.serve import published_mask


def test_published_rows_are_the_first_n_unplanned_and_first_m_planned() -> None:
    ranked = np.array([[5, 6, 7, 8, 9, -1], [1, 2, 3, -1, -1, -1]])
    planned = np.array(
        [[True, False, True, True, False, False], [False, False, False, False, False, False]]
    )
    keep = published_mask(ranked, planned, top_n=2, top_n_planned=1)
    assert keep.tolist() == [
        [True, True, False, False, True, False],
        [True, True, False, False, False, False],
    ]
    # no cut: every real candidate, never the padding
    assert (published_mask(ranked, planned, None, 0) == (ranked >= 0)).all()


def test_spd_inverse_matches_the_general_inverse_in_place() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 250))
    gram = a.T @ a + 50 * np.eye(250)
    expected = np.linalg.inv(gram)
    work = gram.copy()
    inverse = spd_inverse(work, block=64)
    np.testing.assert_allclose(inverse, expected, rtol=1e-10, atol=1e-14)
    assert np.shares_memory(inverse, work) and inverse.flags.c_contiguous
