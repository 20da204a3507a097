"""Exports scikit-learn's bundled data sets (iris, wine, breast-cancer, digits) as CSV with a
stratified 80/20 split (random_state 0), and scores LogisticRegression (lbfgs after
StandardScaler, defaults otherwise) on each, for the comparison in bench/cli.mjs.

    /usr/bin/python3 bench/sklearn/export.py OUT_DIR

Writes OUT_DIR/<name>-train.csv, <name>-test.csv (features, then the column 'label') and
OUT_DIR/sklearn.json (test accuracy and correct rows of LogisticRegression per data set).
The CSVs are generated, never committed. Needs Debian's python3-sklearn and python3-pandas.
"""
import json
import os
import sys

import pandas as pd
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

out = sys.argv[1] if len(sys.argv) > 1 else "build/sklearn"
os.makedirs(out, exist_ok=True)
loaders = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast-cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}
results = {}
for name, load in loaders.items():
    data = load()
    x, y = data.data, data.target
    columns = [str(c) for c in getattr(data, "feature_names", [])] or [f"x{j}" for j in range(x.shape[1])]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    for part, xs, ys in (("train", x_train, y_train), ("test", x_test, y_test)):
        frame = pd.DataFrame(xs, columns=columns)
        frame["label"] = [str(data.target_names[k]) if hasattr(data, "target_names") else str(k) for k in ys]
        frame.to_csv(os.path.join(out, f"{name}-{part}.csv"), index=False)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=10000))
    model.fit(x_train, y_train)
    correct = int((model.predict(x_test) == y_test).sum())
    results[name] = {"rows": int(len(y)), "features": int(x.shape[1]), "classes": int(len(set(y))),
                     "test": int(len(y_test)), "correct": correct, "accuracy": correct / len(y_test)}
    print(f"{name}: LogisticRegression test accuracy {correct / len(y_test):.4f} ({correct}/{len(y_test)})")
with open(os.path.join(out, "sklearn.json"), "w") as f:
    json.dump(results, f, indent=2)
