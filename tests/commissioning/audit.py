"""An exact check, for tests, that no withheld or small hidden count can be worked out.

Linear algebra over a large prime field: each relation is a row, each unknown
count (withheld, or hidden) a column. An unknown is determined by the shown
counts exactly when some row of the reduced matrix has it as its only entry.
"""

from __future__ import annotations

_P = (1 << 61) - 1


def determined(relations, unknown) -> set:
    """The unknown keys that the relations fix, given every other key is known."""
    rows = []
    for rel in relations:
        row: dict = {}
        for key, coef in ((rel.total, 1), *((p, -1) for p in rel.parts)):
            if key in unknown:
                row[key] = (row.get(key, 0) + coef) % _P
        row = {k: v for k, v in row.items() if v}
        if row:
            rows.append(row)
    pivots: list[tuple[object, dict]] = []
    for row in rows:
        for col, prow in pivots:
            if col in row:
                factor = row[col]
                for k, v in prow.items():
                    nv = (row.get(k, 0) - factor * v) % _P
                    if nv:
                        row[k] = nv
                    else:
                        row.pop(k, None)
        if not row:
            continue
        col = min(row, key=repr)
        inv = pow(row[col], _P - 2, _P)
        row = {k: v * inv % _P for k, v in row.items()}
        for i, (c, prow) in enumerate(pivots):  # keep earlier rows reduced (Gauss-Jordan)
            if col in prow:
                factor = prow[col]
                for k, v in row.items():
                    nv = (prow.get(k, 0) - factor * v) % _P
                    if nv:
                        prow[k] = nv
                    else:
                        prow.pop(k, None)
                pivots[i] = (c, prow)
        pivots.append((col, row))
    return {col for col, row in pivots if len(row) == 1}
