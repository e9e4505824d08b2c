"""The inverse of a small symmetric system (a least-squares fit's normal equations),
in plain Python: the fits here have four to eight coefficients."""

from __future__ import annotations


def invert(matrix: list[list[float]], *, min_pivot: float = 1e-300) -> list[list[float]] | None:
    """Gauss-Jordan with partial pivoting; None when singular (a pivot below
    `min_pivot`, which for a system of scaled columns is a relative tolerance)."""
    size = len(matrix)
    work = [row[:] + [1.0 if i == j else 0.0 for j in range(size)] for i, row in enumerate(matrix)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda row: abs(work[row][column]))
        if abs(work[pivot][column]) < min_pivot:
            return None
        work[column], work[pivot] = work[pivot], work[column]
        factor = 1.0 / work[column][column]
        work[column] = [value * factor for value in work[column]]
        for row in range(size):
            if row != column and work[row][column] != 0.0:
                ratio = work[row][column]
                work[row] = [a - ratio * b for a, b in zip(work[row], work[column], strict=True)]
    return [row[size:] for row in work]
