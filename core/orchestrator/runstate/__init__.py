"""Everything a run leaves on disk: the run history (:mod:`.history`), checkpoints
(:mod:`.checkpoints`), dead letters (:mod:`.deadletters`), which run ``--resume`` continues
(:mod:`.resume`, with the plain resume data in :mod:`.progress`), and where each of these lives
(:mod:`.layout`, the only module that decides a path).
"""
