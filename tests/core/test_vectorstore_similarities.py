"""Dense scores of given passages (a candidate only BM25 found): the same cosine a nearest-neighbour query gives."""

import numpy as np

from casepilot.settings import Settings
from casepilot.vectorstore import exact_nearest, make_client, query, similarities, unit_vectors


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


def test_exact_nearest_is_brute_force_cosine_with_ties_by_id(tmp_path):
    client = make_client(Settings(data_dir=tmp_path))
    coll = client.create_collection("test-exact", metadata={"hnsw:space": "cosine"})
    rng = np.random.default_rng(11)
    vecs = rng.normal(size=(300, 16)).astype(np.float32)
    vecs[7] = vecs[3] * 2.0  # same direction as p3: the same cosine, ranked by id
    coll.add(ids=[f"p{i}" for i in range(300)], embeddings=vecs.tolist())
    ids, unit = unit_vectors(coll)
    assert len(ids) == 300 and np.allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)
    for q in [rng.normal(size=16).astype(np.float32), vecs[3] * -0.5 + 0.01]:
        got = exact_nearest(ids, unit, q, 20)
        sims = {f"p{i}": float(v @ q / (np.linalg.norm(v) * np.linalg.norm(q))) for i, v in enumerate(vecs)}
        want = sorted(sims, key=lambda i: (-sims[i], i))[:20]
        assert [i for i, _ in got] == want
        assert all(abs(s - sims[i]) < 1e-5 for i, s in got)
    near = exact_nearest(ids, unit, vecs[3], 2)
    assert [i for i, _ in near] == ["p3", "p7"]  # equal scores: by id, the same in every process
    assert exact_nearest(ids, unit, vecs[0], 500)[0][0] == "p0" and len(exact_nearest(ids, unit, vecs[0], 500)) == 300
    assert exact_nearest([], unit, vecs[0], 5) == [] and exact_nearest(ids, unit, vecs[0], 0) == []


def test_retriever_searches_a_small_collection_exactly_and_reloads_it_on_a_new_revision(tmp_path):
    from casepilot.retrieval import Retriever

    settings = Settings(data_dir=tmp_path)
    client = make_client(settings)
    coll = client.create_collection("test-small", metadata={"hnsw:space": "cosine"})
    rng = np.random.default_rng(5)
    vecs = rng.normal(size=(50, 8)).astype(np.float32)
    coll.add(ids=[f"p{i}" for i in range(50)], embeddings=vecs.tolist())
    r = Retriever(settings, embedder=object())
    revision = {"test-small": ("r1", 50)}
    q = vecs[9] + 0.05
    assert r._nearest("test-small", coll, q, 3, revision)[0][0] == "p9"
    coll.add(ids=["p50"], embeddings=[(vecs[9] + 0.05).tolist()])
    assert r._nearest("test-small", coll, q, 3, revision)[0][0] == "p9"  # same revision: the snapshot in memory
    revision["test-small"] = ("r2", 51)
    assert r._nearest("test-small", coll, q, 3, revision)[0][0] == "p50"  # a new revision reloads the vectors
    coll.add(ids=["p51"], embeddings=[q.tolist()])
    revision["test-small"] = ("r3", 53)  # the store counts more than Chroma holds (an ingest mid-way)
    assert [i for i, _ in r._nearest("test-small", coll, q, 2, revision)] != [] and r._unit["test-small"][0] == "r2"
