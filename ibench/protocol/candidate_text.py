"""The protocol's rule for the texts ranked in rank mode, shown by `ibench tasks show` and
applied by the readers (data/candidates.py) and the planner (run/plan.py).

LAVIS tokenizes every candidate (and prompt) as it is given, without stripping
(blip2_vicuna_instruct.py and blip2_t5_instruct.py, `_predict_class`), so ibench ranks candidates
as the data writes them, leading and trailing spaces included; where ibench itself changes a text
(splitting a comma-joined field, building a vocabulary), the task file's decisions say so.

An empty candidate is refused: LAVIS would give it no token on Vicuna (its first token, the bos,
is dropped), a mean loss over nothing of 0 and so the first rank, and `</s>` alone on FlanT5; a
meaningless winner on one family and not the other. ibench makes its sample a recorded
`bad_record` naming the file, the record and the field (or refuses a shared vocabulary file
that holds one, naming the file and the entry).
"""

from __future__ import annotations

CANDIDATE_TEXT = ("ranked as the data writes them, spaces included, never stripped; an empty "
                  "candidate makes its sample a bad_record")

EMPTY_CANDIDATE = ("is empty: an empty candidate cannot be ranked (LAVIS would score it 0 for "
                   "Vicuna, ranking it first, and score '</s>' alone for FlanT5)")
