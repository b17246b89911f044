"""Fitted scikit-learn models exported to plain numpy arrays for inference.

Importing scikit-learn and unpickling its estimators costs about two seconds, and its
gradient-boosting predictor starts an OpenMP team for every call, which dominates on the
one-paragraph batches a scan makes. Training still uses scikit-learn; the shipped model holds only
these arrays, so loading is fast and predictions are identical. At scan time a forest runs as an
onnxruntime tree ensemble built from the arrays (once per forest, then read from the cache dir
so that a scan need not import onnx), or walked in numpy where onnxruntime is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def _sigmoid(raw: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-raw))


@dataclass
class CompiledForest:
    """A binary HistGradientBoostingClassifier as flat node arrays, all trees evaluated at once.

    Nodes are renumbered so that the two children of a node are adjacent: node k tests
    `x[feature[k]] <= threshold[k]` and moves to `child[k]` (yes) or `child[k] + 1` (no); NaN
    goes to the side scikit-learn sends it. Leaves point to themselves with an infinite
    threshold, so walking `depth` levels from the roots lands every row on its leaf.
    """

    feature: np.ndarray  # int64, per node
    threshold: np.ndarray  # float64, per node
    nan_left: np.ndarray  # bool, per node
    child: np.ndarray  # int64, global index of the left child (the node itself for a leaf)
    value: np.ndarray  # float64, leaf values (0 for inner nodes)
    is_leaf: np.ndarray  # bool, per node
    roots: np.ndarray  # int64, root node of each tree
    depth: int
    baseline: float
    n_features: int

    @classmethod
    def from_sklearn(cls, model: Any) -> CompiledForest:
        """Export a fitted binary HistGradientBoostingClassifier (numerical features only)."""
        if getattr(model, "n_trees_per_iteration_", 1) != 1:
            raise ValueError("only binary classifiers can be compiled")
        cols: dict[str, list] = {k: [] for k in ("feature", "threshold", "nan", "child", "value")}
        leaves: list[bool] = []
        roots: list[int] = []
        depth = 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            depth = max(depth, int(nodes["depth"].max()))
            offset = len(leaves)
            roots.append(offset)
            # Breadth-first renumbering: children of each inner node get consecutive numbers.
            order = [0]
            new_id = {0: offset}
            k = 0
            while k < len(order):
                old = order[k]
                if not nodes["is_leaf"][old]:
                    for c in (int(nodes["left"][old]), int(nodes["right"][old])):
                        new_id[c] = offset + len(order)
                        order.append(c)
                k += 1
            for old in order:
                node = nodes[old]
                leaf = bool(node["is_leaf"])
                leaves.append(leaf)
                cols["feature"].append(0 if leaf else int(node["feature_idx"]))
                cols["threshold"].append(np.inf if leaf else float(node["num_threshold"]))
                cols["nan"].append(True if leaf else bool(node["missing_go_to_left"]))
                cols["child"].append(new_id[old] if leaf else new_id[int(node["left"])])
                cols["value"].append(float(node["value"]) if leaf else 0.0)
        return cls(
            feature=np.asarray(cols["feature"], dtype=np.int64),
            threshold=np.asarray(cols["threshold"], dtype=np.float64),
            nan_left=np.asarray(cols["nan"], dtype=bool),
            child=np.asarray(cols["child"], dtype=np.int64),
            value=np.asarray(cols["value"], dtype=np.float64),
            is_leaf=np.asarray(leaves, dtype=bool),
            roots=np.asarray(roots, dtype=np.int64),
            depth=depth,
            baseline=float(np.ravel(model._baseline_prediction)[0]),
            n_features=int(model.n_features_in_),
        )

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Raw log-odds for each row of `x`: in onnxruntime's tree ensemble where it is
        installed (2.6x faster than the numpy walk on a paragraph's rows; same values up to
        summation order, about 1e-14), else by `walk`."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected a (n, {self.n_features}) matrix, got {x.shape}")
        session = self._session()
        if session is None or not len(x):
            return self.walk(x)
        return self.baseline + session.run(None, {"X": np.ascontiguousarray(x)})[0][:, 0]

    def walk(self, x: np.ndarray) -> np.ndarray:
        """Raw log-odds by walking all trees level by level in numpy (no onnxruntime needed)."""
        x = np.asarray(x, dtype=np.float64)
        feature, child, roots = self._int32()
        flat = x.ravel()
        base = (np.arange(len(x), dtype=np.int32) * np.int32(x.shape[1]))[:, None]
        node = np.broadcast_to(roots, (len(x), len(roots))).copy()
        has_nan = bool(np.isnan(flat).any())
        take = np.take
        # np.take on int32 indices is the cheapest gather numpy offers; this loop is a scan's
        # single largest cost after the language model.
        for level in range(self.depth):
            v = take(flat, base + take(feature, node))
            go_right = ~(v <= take(self.threshold, node))
            if has_nan:
                go_right = np.where(np.isnan(v), ~take(self.nan_left, node), go_right)
            node = take(child, node) + go_right
            if level % 4 == 3 and take(self.is_leaf, node).all():
                break
        return self.baseline + take(self.value, node).sum(axis=1)

    def __getstate__(self) -> dict:
        """Pickle the fields only, not the int32 arrays or the onnxruntime session."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_int32_arrays", "_ort")}

    def _session(self):
        """The forest as an onnxruntime session (built once per loaded model), or None where
        onnx/onnxruntime are missing."""
        if "_ort" not in self.__dict__:
            try:
                self.__dict__["_ort"] = _tree_ensemble_session(self)
            except ImportError:
                self.__dict__["_ort"] = None
        return self.__dict__["_ort"]

    def _int32(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Node arrays as int32 (built once per loaded model; pickles keep int64)."""
        cached = self.__dict__.get("_int32_arrays")
        if cached is None:
            cached = (
                self.feature.astype(np.int32),
                self.child.astype(np.int32),
                self.roots.astype(np.int32),
            )
            self.__dict__["_int32_arrays"] = cached
        return cached

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, columns (0, 1), as scikit-learn gives them."""
        p = _sigmoid(self.decision_function(x))
        return np.column_stack([1.0 - p, p])


# Bump when `_tree_ensemble_bytes` builds a different graph: the cache key includes it.
FOREST_ONNX_FORMAT = 1


def forest_cache_path(forest: CompiledForest, cache_dir: str | Path | None = None) -> Path:
    """Where the ONNX copy of `forest` lives: keyed by its node arrays and the graph format."""
    import hashlib

    from unspin.lexicon.core import default_cache_dir

    digest = hashlib.sha256(str(FOREST_ONNX_FORMAT).encode())
    for name in ("feature", "threshold", "nan_left", "child", "value", "is_leaf", "roots"):
        digest.update(np.ascontiguousarray(getattr(forest, name)).tobytes())
    digest.update(f"{forest.baseline!r} {forest.n_features}".encode())
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / f"forest-{digest.hexdigest()[:16]}.onnx"


def _tree_ensemble_session(forest: CompiledForest):
    """An onnxruntime session of `forest`. Its graph is read from the cache dir, or built once
    (importing onnx costs about half a second, building a 400-tree graph a few tenths more)
    and written there."""
    import onnxruntime as ort

    from unspin.lexicon.core import write_cache_file

    path = forest_cache_path(forest)
    try:
        graph = path.read_bytes()
    except OSError:
        graph = _tree_ensemble_bytes(forest)
        write_cache_file(path, graph)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # a paragraph's rows: threads cost more than they save
    options.inter_op_num_threads = 1
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _tree_ensemble_bytes(forest: CompiledForest) -> bytes:
    """`forest` as one ai.onnx.ml TreeEnsemble node (opset 5), serialised, in float64
    throughout so every split compares exactly as `walk` does."""
    from onnx import TensorProto, helper

    leaf = forest.is_leaf
    inner = np.flatnonzero(~leaf)
    leaves = np.flatnonzero(leaf)
    # A tree that is a single leaf gets a stand-in split whose both branches reach that leaf.
    lone = [int(r) for r in forest.roots if leaf[r]]
    inner_ids = np.full(len(leaf), -1, dtype=np.int64)
    inner_ids[inner] = np.arange(len(inner))
    inner_ids[lone] = len(inner) + np.arange(len(lone))
    leaf_ids = np.full(len(leaf), -1, dtype=np.int64)
    leaf_ids[leaves] = np.arange(len(leaves))

    def target(nodes: np.ndarray) -> tuple[list[int], list[int]]:
        at_leaf = leaf[nodes]
        return np.where(at_leaf, leaf_ids[nodes], inner_ids[nodes]).tolist(), at_leaf.astype(
            np.int64
        ).tolist()

    true_ids, true_leafs = target(forest.child[inner])
    false_ids, false_leafs = target(forest.child[inner] + 1)
    lone_ids = leaf_ids[lone].tolist()
    n = len(inner) + len(lone)
    node = helper.make_node(
        "TreeEnsemble",
        ["X"],
        ["Y"],
        domain="ai.onnx.ml",
        nodes_featureids=forest.feature[inner].tolist() + [0] * len(lone),
        nodes_splits=helper.make_tensor(
            "splits", TensorProto.DOUBLE, [n], forest.threshold[inner].tolist() + [0.0] * len(lone)
        ),
        nodes_modes=helper.make_tensor("modes", TensorProto.UINT8, [n], [0] * n),  # BRANCH_LEQ
        nodes_truenodeids=true_ids + lone_ids,
        nodes_trueleafs=true_leafs + [1] * len(lone),
        nodes_falsenodeids=false_ids + lone_ids,
        nodes_falseleafs=false_leafs + [1] * len(lone),
        nodes_missing_value_tracks_true=forest.nan_left[inner].astype(np.int64).tolist()
        + [1] * len(lone),
        tree_roots=inner_ids[forest.roots].tolist(),
        leaf_targetids=[0] * len(leaves),
        leaf_weights=helper.make_tensor(
            "weights", TensorProto.DOUBLE, [len(leaves)], forest.value[leaves].tolist()
        ),
        n_targets=1,
        aggregate_function=1,  # SUM
        post_transform=0,  # NONE
    )
    graph = helper.make_graph(
        [node],
        "forest",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, forest.n_features])],
        [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, [None, 1])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)]
    )
    return model.SerializeToString()


@dataclass
class CompiledLogistic:
    """A binary LogisticRegression as its coefficients."""

    coef: np.ndarray
    intercept: float

    @classmethod
    def from_sklearn(cls, model: Any) -> CompiledLogistic:
        """Export a fitted binary LogisticRegression."""
        return cls(np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0]))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, columns (0, 1)."""
        p = _sigmoid(np.asarray(x, dtype=np.float64) @ self.coef + self.intercept)
        return np.column_stack([1.0 - p, p])
