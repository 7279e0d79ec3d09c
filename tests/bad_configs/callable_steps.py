"""Functions the callable_* cases of the corpus name (the corpus folder is their project)."""


def clean(rows):
    return rows
