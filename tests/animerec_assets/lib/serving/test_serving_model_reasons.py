"""The model's ``reason_anime_id`` reaches the app as "Because you liked <title>".

The ranked table goes the way the pipeline sends it: through a warehouse table (DuckDB, as the
local IO manager stores it), a publish to a real redis-server, a lookup, and the app's text.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from animerec_assets.lib.ml.data import encode
from animerec_assets.lib.ml.user_pipeline import ranked_table
from animerec_assets.lib.serving import get_recommendations, publish
from app.logic import reason_text

ANIME = pd.DataFrame({"anime_id": [1, 6, 30], "title": ["Cowboy Bebop", "Trigun", "Monster"]})
SIMILAR = pd.DataFrame({"animeA": [1], "animeB": [6], "rank": [1], "score": [0.5]})


def test_model_reasons_survive_the_warehouse_and_the_publish(serving_redis, prefix) -> None:
    train = pd.DataFrame({"user_id": ["Xinil", "Xinil"], "anime_id": [1, 6], "score": [10, 8]})
    encoded = encode(
        pd.concat([train, pd.DataFrame({"user_id": ["z"], "anime_id": [30], "score": [9]})])
    )
    ranked = np.array([[1, 2]])  # Trigun (index 1), Monster (index 2)
    reasons = np.array([[0, -1]])  # Trigun because of Cowboy Bebop; Monster: nothing relates
    table = ranked_table(encoded, np.array([0]), ranked, np.array([[0.9, 0.4]]), reasons)
    with duckdb.connect() as con:
        con.register("model_output", table)
        con.execute("create table ranked as select * from model_output")
        stored = con.execute("select * from ranked").df()
    publish(serving_redis, stored, SIMILAR, ANIME, model_version="reasons", prefix=prefix)
    recs = get_recommendations(serving_redis, "xinil", prefix)
    assert [(r.anime_id, r.reason, r.reason_anime_id) for r in recs] == [
        (6, None, 1),
        (30, None, None),
    ]
    assert reason_text(recs[0]) == "Because you liked Cowboy Bebop"
    assert "liked" not in reason_text(recs[1])  # no made-up reason when none relates
