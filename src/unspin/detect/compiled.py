"""Fitted scikit-learn models exported to plain numpy arrays for inference.

Importing scikit-learn and unpickling its estimators costs about two seconds, and its
gradient-boosting predictor starts an OpenMP team for every call, which dominates on the
one-paragraph batches a scan makes. Training still uses scikit-learn; the shipped model holds only
these arrays, so loading is fast and predictions are identical.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        """Raw log-odds for each row of `x`."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected a (n, {self.n_features}) matrix, got {x.shape}")
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
        """Pickle the fields only, not the int32 cache."""
        return {k: v for k, v in self.__dict__.items() if k != "_int32_arrays"}

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
