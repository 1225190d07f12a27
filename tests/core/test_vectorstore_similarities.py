"""Dense scores of given passages (a candidate only BM25 found): the same cosine a nearest-neighbour query gives."""

import numpy as np

from casepilot.settings import Settings
from casepilot.vectorstore import make_client, query, similarities


def test_similarities_equal_the_query_scores_for_the_same_passages(tmp_path):
    client = make_client(Settings(data_dir=tmp_path))
    coll = client.create_collection("test-sims", metadata={"hnsw:space": "cosine"})
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(5, 8)).astype(np.float32)
    coll.add(ids=[f"p{i}" for i in range(5)], embeddings=vecs.tolist())
    q = rng.normal(size=8).astype(np.float32)
    near = dict(query(coll, q, 5))
    got = dict(similarities(coll, q, ["p3", "p1", "missing"]))
    assert set(got) == {"p1", "p3"}  # an id the collection lacks is simply absent
    for pid, sim in got.items():
        assert abs(sim - near[pid]) < 1e-4
    assert similarities(coll, q, []) == []
