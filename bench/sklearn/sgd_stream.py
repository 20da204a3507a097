"""The peer of the cli bench: the same CSV through pandas read_csv(chunksize=…) and
scikit-learn's SGDClassifier(loss='log_loss').partial_fit, as one would train on a file
that does not fit in memory with the Python stack.

    /usr/bin/python3 bench/sklearn/sgd_stream.py DATA.csv EPOCHS [CHUNKSIZE]

Pass 1 reads the file once (StandardScaler.partial_fit and the class list); each epoch
reads it again (pandas has no binary cache) and calls partial_fit on every chunk. Every
5th row (index % 5 == 4) is held out and scored after the last epoch. Prints one JSON
line: seconds for the first pass and per epoch, MB/s of the first pass, test accuracy
and the peak RSS of the process (ru_maxrss).
"""
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import StandardScaler

path, epochs = sys.argv[1], int(sys.argv[2])
chunksize = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
size = os.path.getsize(path)


def chunks():
    offset = 0
    for frame in pd.read_csv(path, chunksize=chunksize):
        y = frame.pop("label").to_numpy()
        x = frame.to_numpy(dtype=np.float32)
        test = (np.arange(offset, offset + len(y)) % 5) == 4
        offset += len(y)
        yield x, y, test


t0 = time.perf_counter()
scaler, classes, rows = StandardScaler(), set(), 0
for x, y, test in chunks():
    scaler.partial_fit(x[~test])
    classes.update(y.tolist())
    rows += len(y)
first_pass = time.perf_counter() - t0
classes = np.array(sorted(classes))

model = SGDClassifier(loss="log_loss", random_state=0)
epoch_seconds = []
for epoch in range(epochs):
    t = time.perf_counter()
    for x, y, test in chunks():
        model.partial_fit(scaler.transform(x[~test]), y[~test], classes=classes)
    epoch_seconds.append(time.perf_counter() - t)

hits = held = 0
for x, y, test in chunks():
    if test.any():
        hits += int((model.predict(scaler.transform(x[test])) == y[test]).sum())
        held += int(test.sum())

print(json.dumps({
    "rows": rows, "bytes": size, "firstPassSeconds": first_pass, "firstPassMBps": size / 1e6 / first_pass,
    "epochSeconds": epoch_seconds, "testAccuracy": hits / held, "testRows": held,
    "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
